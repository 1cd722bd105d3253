import { quoteArg, quoteArgv } from "../ssh/quote";
import { namespaceName } from "./fields";
import { IMPLICIT_NAMESPACE_MARK } from "./ownership";

/**
 * Implicit namespaces (a device's `netns` or a veth's `peerNetns` with no NetworkNamespace
 * resource) are made by the first create that needs one and removed by the delete of their last
 * device. "Is it empty? then delete it" and "make it if missing, then create a device in it"
 * must not interleave, or a device created between the check and the delete reports success
 * and dies with its namespace; other stacks, other provider processes and people with `ip` act
 * on the same host. So both run on the host as one script each (and so does a NetworkNamespace
 * resource's "is it still mine and empty? then delete it": deleteIfStillScript), holding a lock
 * per namespace name on the host's filesystem until the script exits:
 *
 * - `flock` on `/run/netdev/netns-<name>.lock` where util-linux is installed (released by the
 *   kernel when the script's shell exits, however it exits);
 * - else (busybox systems) an atomic `mkdir` of `<that>.d` holding the owner's pid, removed on
 *   exit; a holder that died without removing it (SIGKILL) is recognised by its pid being gone.
 *
 * Either waits at most LOCK_WAIT_S, then fails without having touched anything. Names are
 * validated namespace names (fields.ts), so every lock path is a plain file name; hosts that
 * share one /run (network-namespace containers of one machine) share the namespaces' names in
 * /run/netns too, so they rightly share the locks.
 */
const LOCK_DIR = "/run/netdev";
const LOCK_WAIT_S = 30;
/** What a script prints on stderr before exiting 1 when a namespace could not be locked or made. */
export const NAMESPACE_FAILED = "__netdev_netns_failed=";

function lockPath(netns: string): string {
  if (!namespaceName.safeParse(netns).success) throw new Error(`not a namespace name: ${JSON.stringify(netns)}`);
  return `${LOCK_DIR}/netns-${netns}.lock`;
}

/** Sorted and without repeats: every script takes its locks in the same order, so two never wait on each other. */
function lockOrder(namespaces: readonly string[]): string[] {
  return [...new Set(namespaces)].sort();
}

/** Shell text that prints the failure marker with a message (shell words, expanded) and exits 1. */
function fail(netns: string, message: string): string {
  return `{ printf '%s%s\\n' ${quoteArg(`${NAMESPACE_FAILED}${netns}: `)} ${message} >&2; exit 1; }`;
}

/**
 * Shell text that takes the lock of each namespace (at most 7: file descriptors 9 down to 3) and
 * holds it until the script exits. Nothing else in the script may `exec`: the mkdir locks are
 * released by the shell's EXIT trap.
 */
export function lockNamespaces(namespaces: readonly string[]): string {
  const names = lockOrder(namespaces);
  if (names.length === 0) return "";
  if (names.length > 7) throw new Error(`cannot lock more than 7 namespaces in one script (${names.join(", ")})`);
  const tries = LOCK_WAIT_S * 20;
  const lines = [
    `mkdir -p ${LOCK_DIR} 2>/dev/null`,
    "nd_held=''",
    `trap 'for d in $nd_held; do rm -rf "$d"; done' EXIT`,
    `trap 'exit 1' HUP INT TERM`,
    // $1 the lock directory. A holder's pid is written right after its mkdir: no pid yet means it is alive.
    "nd_mkdir_lock() {",
    "  n=0",
    '  until mkdir "$1" 2>/dev/null; do',
    '    p=; { IFS= read -r p <"$1/pid"; } 2>/dev/null',
    '    if [ -n "$p" ] && ! kill -0 "$p" 2>/dev/null; then rm -rf "$1"; continue; fi',
    `    n=$((n+1)); [ "$n" -lt ${tries} ] || return 1`,
    "    sleep 0.05 2>/dev/null || sleep 1",
    "  done",
    '  echo $$ >"$1/pid"; nd_held="$nd_held $1"',
    "}",
    "if command -v flock >/dev/null 2>&1; then nd_flock=1; else nd_flock=; fi",
  ];
  names.forEach((netns, i) => {
    const path = lockPath(netns);
    const fd = 9 - i;
    const waited = fail(netns, `"could not take the host-side lock ${path} within ${LOCK_WAIT_S} s"`);
    lines.push(
      'if [ -n "$nd_flock" ]; then',
      `  command exec ${fd}>>${quoteArg(path)} && flock -w ${LOCK_WAIT_S} ${fd} || ${waited}`,
      `else nd_mkdir_lock ${quoteArg(`${path}.d`)} || ${waited}; fi`,
    );
  });
  return lines.join("\n");
}

/**
 * Shell text, run under lockNamespaces, that makes each namespace that does not exist yet and
 * marks its lo as made implicitly (so its last device's delete removes it again). One that
 * exists, or appears meanwhile (`ip netns add` by someone who does not lock), is left as it is.
 */
export function ensureNamespaces(namespaces: readonly string[]): string {
  return lockOrder(namespaces)
    .map((netns) => {
      const add = quoteArgv(["ip", "netns", "add", netns]);
      const mark = quoteArgv(["ip", "-n", netns, "link", "set", "dev", "lo", "up", "alias", IMPLICIT_NAMESPACE_MARK]);
      return [
        `if [ ! -e ${quoteArg(`/var/run/netns/${netns}`)} ]; then`,
        `  if e=$(LC_ALL=C ${add} 2>&1); then e=$(${mark} 2>&1) || ${fail(netns, '"creating it succeeded, marking its lo failed: $e"')}`,
        `  else case "$e" in *"File exists"*) ;; *) ${fail(netns, '"creating it failed: $e"')} ;; esac; fi`,
        "fi",
      ].join("\n");
    })
    .join("\n");
}

/**
 * The whole script that removes a namespace made implicitly once nothing but its lo is left:
 * under its lock, it lists the namespace's links and deletes it only if lo is the one link and
 * carries IMPLICIT_NAMESPACE_MARK. Never one made otherwise (a NetworkNamespace resource tags lo
 * with its owner tag; others have none). Gone already: nothing to do.
 */
export function removeIfImplicitAndEmptyScript(netns: string): string {
  const exists = `[ -e ${quoteArg(`/var/run/netns/${netns}`)} ]`;
  // `ip -json` prints compact JSON: within a string value a quote is escaped, so these patterns
  // match only keys and whole values.
  return [
    lockNamespaces([netns]),
    `${exists} || exit 0`,
    `j=$(LC_ALL=C ${quoteArgv(["ip", "-n", netns, "-json", "link", "show"])} 2>&1) || { ${exists} || exit 0; ${fail(netns, '"listing its links failed: $j"')}; }`,
    `case "$j" in *'"ifname":'*'"ifname":'*) exit 0 ;; esac`,
    `case "$j" in *'"ifname":"lo"'*) ;; *) exit 0 ;; esac`,
    `case "$j" in *${quoteArg(`"ifalias":"${IMPLICIT_NAMESPACE_MARK}"`)}*) ;; *) exit 0 ;; esac`,
    `if ! e=$(LC_ALL=C ${quoteArgv(["ip", "netns", "del", netns])} 2>&1) && ${exists}; then ${fail(netns, '"removing it failed: $e"')}; fi`,
    "exit 0",
  ].join("\n");
}

/** What deleteIfStillScript prints on stderr (exit 3) when the namespace no longer passes the checks. */
export const NAMESPACE_CHANGED = "__netdev_netns_changed";

/**
 * The whole script that deletes a namespace a NetworkNamespace resource owns, after its checks
 * passed on the client: under the namespace's lock it checks again that lo carries `tag` and,
 * unless `force`, that lo is the only link (read from the namespace's own sysfs), so a device
 * created in it meanwhile (by another stack naming it as `netns`) is never deleted with it.
 * Gone already: nothing to do. Not as checked: NAMESPACE_CHANGED, exit 3, nothing deleted.
 */
export function deleteIfStillScript(netns: string, tag: string, force: boolean): string {
  const exists = `[ -e ${quoteArg(`/var/run/netns/${netns}`)} ]`;
  const inner = [
    "a=; { IFS= read -r a </sys/class/net/lo/ifalias; } 2>/dev/null",
    '[ "$a" = "$1" ] || exit 3',
    '[ "$2" = force ] && exit 0',
    'for d in /sys/class/net/*; do [ -L "$d" ] || continue; [ "${d##*/}" = lo ] || exit 3; done',
    "exit 0",
  ].join("\n");
  return [
    lockNamespaces([netns]),
    `${exists} || exit 0`,
    `r=0; e=$(${quoteArgv(["ip", "netns", "exec", netns, "sh", "-c", inner, "sh", tag, force ? "force" : "only-lo"])} 2>&1) || r=$?`,
    `if [ "$r" = 3 ]; then echo ${NAMESPACE_CHANGED} >&2; exit 3; fi`,
    `if [ "$r" != 0 ]; then ${exists} || exit 0; ${fail(netns, '"checking it failed: $e"')}; fi`,
    `if ! e=$(LC_ALL=C ${quoteArgv(["ip", "netns", "del", netns])} 2>&1) && ${exists}; then ${fail(netns, '"removing it failed: $e"')}; fi`,
    "exit 0",
  ].join("\n");
}
