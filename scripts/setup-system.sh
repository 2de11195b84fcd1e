#!/bin/sh
# Debian packages the lab, the roles' tests and the Slurm acceptance tests need (run as root).
# `aifactory lab up` installs its own share too; CI runs this first so every test finds its tools.
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq podman runc catatonit debootstrap openssh-client iptables uidmap slurmd slurm-client
