#!/bin/bash
# PID 1 of a multihost test host: what booting and shutting down a sysvinit Debian host does, in a container.
# Its name ends in "sh", so Ansible's service_mgr fact falls through to "sysvinit" (/etc/init.d exists) and
# ansible.builtin.service drives the packages' init scripts, as on a host without systemd.
set -u

# Docker-in-Docker on cgroup v1: the hierarchies arrive mounted read-only and remounting them fails ("mount point
# is busy"): unmount each and mount it afresh, read-write, so a Docker engine installed later can use them.
if [ ! -e /sys/fs/cgroup/cgroup.controllers ]; then
  for dir in /sys/fs/cgroup/*/; do
    name=$(basename "$dir")
    if [ "$name" = systemd ]; then options=none,name=systemd; else options=$name; fi
    umount "/sys/fs/cgroup/$name" && mount -t cgroup -o "$options" cgroup "/sys/fs/cgroup/$name" \
      || echo "host-init: cgroup $name stays read-only" >&2
  done
fi

ssh-keygen -A >/dev/null   # host keys, once per host (none in the image)
mkdir -p /run/sshd

# Boot: start what is enabled for runlevel 2, in order (ssh, and docker once installed and enabled).
for script in /etc/rc2.d/S*; do
  [ -x "$script" ] && "$script" start
done

# Shutdown (docker stop): stop the services in reverse order so the Docker engine stops its containers cleanly.
shutdown() {
  for script in $(ls -r /etc/rc2.d/S*); do
    [ -x "$script" ] && "$script" stop
  done
  exit 0
}
trap shutdown TERM INT

# Stay up; as PID 1, bash reaps the daemons' orphans while it waits.
sleep infinity &
wait $!
