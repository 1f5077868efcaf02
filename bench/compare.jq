# Do the instruction counts repeat? The icount rows of two result files of
# scripts/bench.sh ($a, the earlier, named $an; $b), matched by run (CPUs)
# and key: the largest relative difference, and every row beyond 1%.
# Usage: jq -n -r --slurpfile a OLD.json --slurpfile b NEW.json --arg an NAME -f compare.jq
def r2: . * 100 | round / 100;
def timed: select(.status != "skip" and .status != "ERROR" and .unit != "B" and .value > 0);
def rows($f; $smp): $f.runs[] | select((.mode // "time") == "icount" and .smp == $smp)
                    | .result.rows[] | timed;

($a[0]) as $old | ($b[0]) as $new
| [$new.runs[] | select((.mode // "time") == "icount") | .smp as $smp
   | ([rows($old; $smp) | {(.key): .value}] | add // {}) as $prev
   | rows($new; $smp) | select($prev[.key] != null)
   | {smp: $smp, label: .label, was: $prev[.key], now: .value,
      d: (((.value - $prev[.key]) / $prev[.key]) | fabs)}] as $d
| if ($d | length) == 0 then
    "Repeat: no instruction figures in common with \($an)."
  else
    ($d | max_by(.d)) as $m
    | "Repeat: against \($an), \($d | length) instruction figures; the largest "
      + "difference \($m.d * 100 | r2)% (\($m.label | sub("^ +"; "")), smp \($m.smp): "
      + "\($m.was | round) vs \($m.now | round)); "
      + "\([$d[] | select(.d > 0.01)] | length) beyond 1%.",
      ($d[] | select(.d > 0.01)
       | "  beyond 1%: \(.label | sub("^ +"; "")), smp \(.smp): \(.was | round) vs \(.now | round)")
  end
