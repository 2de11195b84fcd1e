"""Deployers: the Pulumi program and Automation API wrapper, Ansible through ansible-runner."""
