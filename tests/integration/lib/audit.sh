#!/bin/sh
# audit.sh - checks an SMTP session record against the command-reply table.
#
# usage: audit.sh [-v] TABLE RECORD...
#   TABLE   the verbatim copy of the command-reply table
#           (tests/data/smtp-reply-table.txt: "| NAME |" starts a row,
#           "| CODE | text |" lists a code allowed in it)
#   RECORD  lines "COMMAND<TAB>CODE<TAB>TEXT" as smtpclient.py writes them
#
# The greeting (CONNECT) is checked against the "connect" row and the reply
# after the final dot (".") against "received data"; every other command
# against its own row. Commands the table has no row for (XCLIENT,
# STARTTLS, ...) and the CLOSED/TIMEOUT markers are not audited (-v lists
# them). Prints one "violation:" line per pair the row does not allow;
# exit 0 when there is none, 1 when there are, 2 on a usage or table error.
#
# The table is parsed here, independently of spfgate's own C table.

verbose=0
if [ "${1:-}" = "-v" ]; then verbose=1; shift; fi
if [ $# -lt 2 ]; then
  echo "usage: audit.sh [-v] TABLE RECORD..." >&2
  exit 2
fi
table=$1; shift
[ -r "$table" ] || { echo "audit: cannot read $table" >&2; exit 2; }

awk -F'\t' -v verbose="$verbose" -v table="$table" '
  function trim(s) { gsub(/^[ \t]+|[ \t]+$/, "", s); return s }
  BEGIN {
    nrows = 0
    while ((getline line < table) > 0) {
      if (line !~ /^\|/) continue
      n = split(line, f, "|")
      a = trim(f[2])
      if (n <= 3) { row = toupper(a); rows[row] = ""; nrows++; continue }
      if (a ~ /^[0-9][0-9][0-9]$/ && row != "")
        rows[row] = rows[row] " " a
    }
    close(table)
    if (nrows < 10 || !("CONNECT" in rows) || !("RECEIVED DATA" in rows)) {
      print "audit: " table " does not look like the command-reply table" > "/dev/stderr"
      bad_table = 1
      exit 2
    }
  }
  /^[ \t]*$/ { next }
  {
    cmd = toupper($1); code = $2; text = $3
    checked_file = FILENAME
    if (cmd == "CLOSED" || cmd == "TIMEOUT") next
    row = (cmd == ".") ? "RECEIVED DATA" : cmd
    if (!(row in rows)) {
      if (verbose) printf "not audited: %s:%d: %s %s\n", FILENAME, FNR, cmd, code
      next
    }
    audited++
    if (index(rows[row] " ", " " code " ") == 0) {
      printf "violation: %s:%d: %s answered %s (%s); the %s row allows:%s\n",
        FILENAME, FNR, (cmd == "." ? "end of data" : cmd), code, text,
        tolower(row), rows[row]
      violations++
    } else if (verbose) {
      printf "ok: %s %s\n", cmd, code
    }
  }
  END {
    if (bad_table) exit 2
    if (verbose) printf "audited %d replies, %d violations\n", audited, violations
    exit violations > 0 ? 1 : 0
  }' "$@"
