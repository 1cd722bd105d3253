import { chmodSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { deviceEngine as engineFor } from "../registry";
import { sshPool } from "../ssh/pool";
import { connection, connectionInput } from "../../test/support/lab-hosts";
import { hostLink, onHost } from "../../test/support/lifecycle";
import { HostShell } from "./host";

/**
 * A delete never removes a device that is not the one its resource made, on a netns lab host:
 * not when a foreign device's alias imitates the delete script's own output, and not when the
 * device is swapped (deleted and made again by someone else under the same name) between the
 * owner check and the delete, whether the delete goes alone, in a group, or through the
 * lost-tag path (two round trips).
 *
 * The swap happens on the host at the moment the delete script first runs `ip` after its
 * checks: the test runs the script with a wrapper `ip` first on PATH (the lab's netns hosts
 * share this machine's filesystem), which swaps the device once, then runs the real `ip`.
 */
const HOST = "h1";
const engine = engineFor("Bridge");
const WRAP_DIR = `/tmp/nd6wrap-${process.pid}`;
const FOREIGN_ALIAS = "someone else's bridge";

const WRAPPER = [
  "#!/bin/sh",
  // Only once, and only at a call that acts (a delete, or the batch that puts devices in a group).
  'case " $* " in *" link del "*|*" -batch "*)',
  '  if [ -n "$ND6_FLAG" ] && rm "$ND6_FLAG" 2>/dev/null; then',
  '    /usr/sbin/ip link del dev "$ND6_SWAP" </dev/null',
  '    /usr/sbin/ip link add name "$ND6_SWAP" type bridge </dev/null',
  `    /usr/sbin/ip link set dev "$ND6_SWAP" alias "${FOREIGN_ALIAS}" </dev/null`,
  "  fi ;;",
  "esac",
  'exec /usr/sbin/ip "$@"',
  "",
].join("\n");

/** Makes this process's delete scripts run with the wrapper `ip`, set to swap `name` once. */
function swapAtFirstIp(name: string): void {
  const flag = `${WRAP_DIR}/armed-${name}`;
  writeFileSync(flag, "");
  const pool = sshPool();
  const exec = pool.exec.bind(pool);
  vi.spyOn(pool, "exec").mockImplementation((conn, argv, options) => {
    const sh = argv.findIndex((word, i) => word === "sh" && argv[i + 1] === "-c");
    const isDelete = sh >= 0 && /__netdev/.test(argv[sh + 2] ?? "") && /link del|del group|ifalias/.test(argv[sh + 2] ?? "");
    if (!isDelete) return exec(conn, argv, options);
    const env = ["env", `PATH=${WRAP_DIR}:/usr/sbin:/usr/bin:/sbin:/bin`, `ND6_SWAP=${name}`, `ND6_FLAG=${flag}`];
    return exec(conn, [...argv.slice(0, sh), ...env, ...argv.slice(sh)], options);
  });
}

const names = ["nd6del0", "nd6del1", "nd6del2", "nd6del3"];
const cleanup = () => Promise.all(names.map((name) => sshPool().exec(connection(HOST), ["ip", "link", "del", "dev", name])));
const create = (name: string) => engine.create(engine.check({ connection: connectionInput(HOST), name }).inputs);

describe("deletes never take a device that is not theirs", () => {
  beforeAll(async () => {
    mkdirSync(WRAP_DIR, { recursive: true });
    writeFileSync(`${WRAP_DIR}/ip`, WRAPPER);
    chmodSync(`${WRAP_DIR}/ip`, 0o755);
    await cleanup();
  }, 60_000);
  afterEach(async () => {
    vi.restoreAllMocks();
    await cleanup();
  }, 60_000);
  afterAll(() => {
    rmSync(WRAP_DIR, { recursive: true, force: true });
    sshPool().closeAll();
  });

  it("a foreign device whose alias imitates the script's markers is refused, not reported gone", async () => {
    const made = await create(names[0]!);
    await onHost(HOST, ["ip", "link", "del", "dev", names[0]!]);
    await onHost(HOST, ["ip", "link", "add", "name", names[0]!, "type", "bridge"]);
    for (const alias of [
      "x __netdev_unreadable=cat: can't open: No such file or directory",
      "__netdev_del 0 deleted",
      "__netdev_unreadable=No such file or directory",
    ]) {
      await onHost(HOST, ["ip", "link", "set", "dev", names[0]!, "alias", alias]);
      await expect(engine.delete(made.id, made.outs), alias).rejects.toThrow(/refusing to delete/);
      expect((await hostLink(HOST, undefined, names[0]!))?.ifalias, alias).toBe(alias);
    }
  }, 60_000);

  it("a lone delete: a device swapped in between the owner check and the delete stays", async () => {
    const made = await create(names[0]!);
    swapAtFirstIp(names[0]!);
    await engine.delete(made.id, made.outs).catch(() => undefined);
    const left = await hostLink(HOST, undefined, names[0]!);
    expect(left?.ifalias, "the swapped-in device is still there").toBe(FOREIGN_ALIAS);
    expect(left.ifindex).not.toBe(made.outs.ifindex);
  }, 60_000);

  it("a grouped delete: a device swapped in between the owner check and the group delete stays; the others go", async () => {
    const made = await Promise.all(names.map(create));
    swapAtFirstIp(names[1]!);
    await onHost(HOST, ["true"]); // the connection is up: the deletes below overlap into one group
    const settled = await Promise.allSettled(made.map(({ id, outs }) => engine.delete(id, outs)));
    const left = await hostLink(HOST, undefined, names[1]!);
    expect(left?.ifalias, "the swapped-in device is still there").toBe(FOREIGN_ALIAS);
    expect(left.group).not.toMatch(/^[0-9]{8,}$/); // not left in the delete's random group
    for (const i of [0, 2, 3]) {
      expect(settled[i]!.status).toBe("fulfilled");
      expect(await hostLink(HOST, undefined, names[i]!)).toBeUndefined();
    }
  }, 60_000);

  it("the lost-tag path (check, then delete in a second round trip): a device swapped in between stays", async () => {
    const made = await create(names[0]!);
    // The alias cleared by hand: refresh keeps the device as this resource's (same ifindex, no tag).
    await onHost(HOST, ["ip", "link", "set", "dev", names[0]!, "alias", ""]);
    const read = await engine.read(made.id, made.outs);
    expect(read.props.tagLost).toBe(true);
    const readLink = HostShell.prototype.readLink;
    vi.spyOn(HostShell.prototype, "readLink").mockImplementationOnce(async function (this: HostShell, netns, name) {
      const link = await readLink.call(this, netns, name);
      // Swapped right after the engine looked at it: same name, same kind, no tag, another device.
      await onHost(HOST, ["ip", "link", "del", "dev", name]);
      await onHost(HOST, ["ip", "link", "add", "name", name, "type", "bridge"]);
      return link;
    });
    await engine.delete(made.id, read.props).catch(() => undefined);
    vi.restoreAllMocks();
    const left = await hostLink(HOST, undefined, names[0]!);
    expect(left, "the swapped-in device is still there").toBeDefined();
    expect(left.ifindex).not.toBe(made.outs.ifindex);
  }, 60_000);
});
