"""Deployers: the Pulumi program and Automation API wrapper, and the site playbook through ansible-runner."""
