#!/usr/bin/env bash
# Search (issue 3): `ls TEXT` lists names containing TEXT anywhere (not only
# as a prefix), newest first, with a total; `ls` lists everything.
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"

pp_cluster 2
printf 'x' >"$PP_TMP/f"
for n in "reports/2024 annual.pdf" "notes.txt" "old-annual-report" "photos/annually.jpg" "zzz"; do
	ppctl put "$PP_TMP/f" --name "$n" >/dev/null
	sleep 0.05 # distinct creation times
done

ppctl --json ls annual >"$PP_TMP/ls.json"
assert_eq "$(jq -c '[.files[].name]' "$PP_TMP/ls.json")" \
	'["photos/annually.jpg","old-annual-report","reports/2024 annual.pdf"]' "ls annual (newest first)"
assert_eq "$(jq -r .total "$PP_TMP/ls.json")" 3 "total"
assert_eq "$(ppctl --json ls | jq '.files | length')" 5 "ls with no text"
assert_eq "$(ppctl --json ls nothing-matches | jq '.files | length')" 0 "ls with no match"
ppctl ls annual >"$PP_TMP/ls.txt"
grep -q "old-annual-report" "$PP_TMP/ls.txt" || fail "human ls misses a match"
! grep -q "notes.txt" "$PP_TMP/ls.txt" || fail "human ls shows a non-match"
pp_done
