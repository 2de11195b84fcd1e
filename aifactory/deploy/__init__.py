"""Deployers: the site playbook through ansible-runner (and the Pulumi program, in stacks/)."""
