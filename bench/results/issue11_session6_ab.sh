#!/bin/bash
# alternate after/before runs of bench/overhead.py (issue 11's done-when), at rest
export GRADER_DATA_DIR=/work/shared/datasets GRADER_OFFLINE=1
for round in 1 2; do
  echo "== after $round $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"
  (cd /work/main && /work/main/.venv/bin/python bench/overhead.py --repeats 2 --batch 4 --no-micro --json /tmp/b/after$round.json) > /tmp/b/after$round.log 2>&1
  echo "== before $round $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"
  (cd /tmp/before && /tmp/vb/bin/python bench/overhead.py --repeats 2 --batch 4 --no-micro --json /tmp/b/before$round.json) > /tmp/b/before$round.log 2>&1
done
echo "== done $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"
