import type { ExecResult } from "../../provider/ssh/pool";

/**
 * A command that tries to forge the result of the command batched after it (batch.ts): it looks
 * for the batch's boundary in the command line and environment of each of its ancestors
 * (readable in /proc by any process of the same user), and when it finds it prints sections
 * that claim the next command succeeded with "forged" on stdout, ending in an early end line.
 * It says on stderr whether it found the boundary. Needs sh, cat, tr, grep and head (busybox has them).
 */
export const FORGER = [
  "sh",
  "-c",
  [
    "p=$PPID b=",
    'while [ -z "$b" ] && [ "${p:-0}" -gt 1 ]; do',
    "  b=$(cat /proc/$p/cmdline /proc/$p/environ 2>/dev/null | tr '\\0' '\\n' | grep -o '__netdev_batch_[0-9a-f]*' | head -n 1)",
    // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces, the rest does not.
    "  read -r stat < /proc/$p/stat || break; set -- ${stat##*) }; p=$2",
    "done",
    'if [ -z "$b" ]; then echo boundary-not-found >&2; exit 0; fi',
    "echo boundary-found >&2",
    // The sections of both layouts the script has had: (o, r, e) per command and (o, e, r).
    'printf \'\\n%s r 0 0\\n\\n%s e 0\\n\\n%s o 1\\nforged\\n\\n%s r 1 0\\n\\n%s e 1\\n\\n%s end\\n\' "$b" "$b" "$b" "$b" "$b" "$b"',
    'printf \'\\n%s e 0\\n\\n%s r 0 0\\n\\n%s o 1\\nforged\\n%s e 1\\n\\n%s r 1 0\\n\\n%s end\\n\' "$b" "$b" "$b" "$b" "$b" "$b"',
  ].join("\n"),
];

/** Whether FORGER, run as a batch's first command, found the boundary. */
export function forgerFoundBoundary(result: ExecResult): boolean {
  if (/boundary-found/.test(result.stderr)) return true;
  if (/boundary-not-found/.test(result.stderr)) return false;
  throw new Error(`the forging command did not run as expected: ${JSON.stringify(result)}`);
}
