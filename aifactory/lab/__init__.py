"""The local lab: a real miniature AI factory on one machine.

Test hosts are podman containers built from a debootstrap Debian root file system; the production Ansible
roles converge them into a Slurm cluster with shared storage, Prometheus and MLflow.
"""
