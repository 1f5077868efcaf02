# The Markdown table of a bench/ksalloc-bench result file (scripts/bench.sh
# writes it): one row per figure, a value and ratio column pair per run.
def r2: . * 100 | round / 100;
def r3: . * 1000 | round / 1000;
def t: if . >= 1e6 then "\(. / 1e6 | r2) ms"
       elif . >= 1e3 then "\(. / 1e3 | r2) µs"
       else "\(. | round) ns" end;
def val: if .status == "skip" then "skip"
         elif .status == "ERROR" then "error"
         elif .unit == "B" then "\(.value | round) B"
         else "\(.value | t)/\(.unit)" end;
def ratio: if .baseline == "" or .status == "skip" or .status == "ERROR" then ""
           else "\(.ratio | r3)×" end;
def target: if .target_op == "" then ""
            else "\(.target_op | sub("<="; "≤") | sub(">="; "≥")) \(.target)×" end;

. as $all
| ($all.runs | map(.smp)) as $smps
| ($all.runs | map(.result.rows | map({(.key): .}) | add)) as $maps
# the order of the run with the most rows (the multi-CPU run has extra rows)
| ($all.runs | map(.result.rows | map(.key)) | sort_by(-length)) as $orders
| (reduce ($orders[][]) as $k ([]; if any(.[]; . == $k) then . else . + [$k] end)) as $keys
| "ksalloc-bench, kernel \($all.kernel), \($all.date); \($all.host); "
  + "\($all.runs[0].result.rounds) rounds, medians",
  "",
  "| case | " + ($smps | map("smp \(.) | ratio") | join(" | ")) + " | baseline | target | result |",
  "|" + ([range(0; 4 + 2 * ($smps | length))] | map(" --- ") | join("|")) + "|",
  ($keys[] as $k
   | ($maps | map(.[$k])) as $rs
   | ($rs | map(select(. != null)) | first) as $r0
   | "| \($r0.label | sub("^ +"; "… ")) | "
     + ($rs | map(if . == null then "- | " else "\(val) | \(ratio)" end) | join(" | "))
     + " | \($r0.baseline) | \($r0 | target) | "
     + (if ($rs | map(select(. != null and .status != "info")) | length) == 0 then ""
        else ($rs | map(if . == null then "-" elif .status == "info" then "" else .status end)
              | join(" / ")) end)
     + " |")
