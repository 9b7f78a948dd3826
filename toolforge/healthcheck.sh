#!/bin/sh
# Toolforge health-check-script for workers: healthy while the loop touched the file within 30 s.
# The worker touches it before every unit of work and while it waits, so 30 s of silence means
# the loop is stuck and Kubernetes should restart the job.
file="${TOOL_WORKER__HEALTH_FILE:-/tmp/likeness-worker-health}"
[ -f "$file" ] && [ $(( $(date +%s) - $(stat -c %Y "$file") )) -lt 30 ]
