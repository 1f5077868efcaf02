# The Markdown tables of a bench/ksalloc-bench result file (scripts/bench.sh
# writes it): the runs in guest instructions (icount), then those in TCG
# time; one row per figure, a value and ratio column pair per run.
def r3: . * 1000 | round / 1000;
def r2: . * 100 | round / 100;
def grp: if length <= 3 then . else (.[0:length - 3] | grp) + "," + .[length - 3:] end;
def count: if . < 0 then "-" + (-. | round | tostring | grp) else round | tostring | grp end;
def t: if . >= 1e6 then "\(. / 1e6 | r2) ms"
       elif . >= 1e3 then "\(. / 1e3 | r2) µs"
       else "\(. | round) ns" end;
def val($m): if .status == "skip" then "skip"
             elif .status == "ERROR" then "error"
             elif .unit == "B" then "\(.value | round) B"
             elif $m == "instructions" then "\(.value | count)/\(.unit)"
             else "\(.value | t)/\(.unit)" end;
def ratio: if .baseline == "" or .status == "skip" or .status == "ERROR" then ""
           else "\(.ratio | r3)×" end;
def target: if .target_op == "" then ""
            else "\(.target_op | sub("<="; "≤") | sub(">="; "≥")) \(.target)×" end;
# the runs of one metric; old result files have no mode: TCG time
def mode: .mode // "time";

# table(runs; metric): one Markdown table
def table($runs; $m):
  ($runs | map(.result.rows | map({(.key): .}) | add)) as $maps
  # the order of the run with the most rows (the multi-CPU run has extra rows)
  | ($runs | map(.result.rows | map(.key)) | sort_by(-length)) as $orders
  | (reduce ($orders[][]) as $k ([]; if any(.[]; . == $k) then . else . + [$k] end)) as $keys
  | "| case | " + ($runs | map("smp \(.smp) | ratio") | join(" | ")) + " | baseline | target | result |",
    "|" + ([range(0; 4 + 2 * ($runs | length))] | map(" --- ") | join("|")) + "|",
    ($keys[] as $k
     | ($maps | map(.[$k])) as $rs
     | ($rs | map(select(. != null)) | first) as $r0
     | "| \($r0.label | sub("^ +"; "… ")) | "
       + ($rs | map(if . == null then "- | " else "\(val($m)) | \(ratio)" end) | join(" | "))
       + " | \($r0.baseline) | \($r0 | target) | "
       + (if ($rs | map(select(. != null and .status != "info")) | length) == 0 then ""
          else ($rs | map(if . == null then "-" elif .status == "info" then "" else .status end)
                | join(" / ")) end)
       + " |");

# The largest spread between the rounds of one run, over its timed rows
def spread($runs):
  [$runs[] | .result.rows[]
   | select(.status != "skip" and .status != "ERROR" and .unit != "B" and .value > 0)
   | {label: .label, s: ((.max - .min) / .value)}]
  | max_by(.s) // null;

. as $all
| ($all.runs | map(select(mode == "icount"))) as $ic
| ($all.runs | map(select(mode != "icount"))) as $tm
| "ksalloc-bench, kernel \($all.kernel), \($all.date); \($all.host)",
  (if ($ic | length) > 0 then
     "",
     "Guest instructions: QEMU `-icount shift=0,sleep=off`, the guest's clock "
     + "advances one nanosecond per instruction and skips idle time, so each "
     + "figure counts guest instructions (user and kernel). Deterministic; "
     + "they leave out cache and pipeline effects. With 2 vCPUs QEMU runs "
     + "them in turn and a figure counts the instructions of both. "
     + "\($ic[0].result.rounds) rounds, medians"
     + (spread($ic) as $s | if $s then "; largest spread between rounds "
        + "\($s.s * 100 | r2)% (\($s.label | sub("^ +"; "")))" else "" end) + ".",
     "",
     table($ic; "instructions")
   else empty end),
  (if ($tm | length) > 0 then
     "",
     "TCG time: QEMU TCG (MTTCG with 2 vCPUs) without icount; moves with "
     + "the host's load, each ratio is taken against a baseline measured in "
     + "the same round. \($tm[0].result.rounds) rounds, medians.",
     "",
     table($tm; "ns")
   else empty end)
