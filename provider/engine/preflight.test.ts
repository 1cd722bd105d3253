import { afterAll, describe, expect, it } from "vitest";
import { engineFor as anyEngineFor, deviceEngine as engineFor } from "../registry";
import { sshPool } from "../ssh/pool";
import { connection, connectionInput, host, labState } from "../../test/support/lab-hosts";
import { hostLink, onHost } from "../../test/support/lifecycle";
import { sudoLogin } from "../../test/support/sudo-login";

/**
 * Capabilities, checked once per host (preflight.ts), on real hosts: the netns hosts share this
 * machine's kernel, which lacks dummy and vrf; the VMs boot a full Debian kernel that has them.
 */
afterAll(() => sshPool().closeAll());

/** Commands this process's pool started while `work` ran. */
async function counted<T>(work: () => Promise<T>): Promise<{ value: T; commands: number }> {
  const before = sshPool().commandsStarted;
  const value = await work();
  return { value, commands: sshPool().commandsStarted - before };
}

const probeNamespaces = async (hostName: string) => (await onHost(hostName, ["ip", "netns", "list"])).split("\n").filter((line) => line.startsWith("ndpf"));

describe("a kind the host's kernel lacks", () => {
  it.each(["Dummy", "Vrf"])("%s on h1 fails before touching the host, naming what is missing and how to get it", async (type) => {
    const engine = engineFor(type);
    const name = "ndpfcheck0";
    const extra = type === "Vrf" ? { table: 100 } : {};
    const checked = engine.check({ connection: connectionInput("h1"), name, ...extra });
    expect(checked.failures).toEqual([]);
    const error = await engine.create(checked.inputs).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(
      new RegExp(
        `^kernel on root@10\\.247\\.0\\.11:22 lacks ${engine.kind.kernelFeature} support, which ${type} ${name} on root@10\\.247\\.0\\.11:22 needs; nothing was changed there`,
      ),
    );
    expect(error?.message).toMatch(type === "Dummy" ? /CONFIG_DUMMY \(module dummy\)/ : /CONFIG_NET_VRF \(module vrf\)/);
    expect(error?.message).toMatch(/Unknown device type/);
    expect(error?.message).toMatch(/linux-image-\*.*kernel-modules/);
    expect(await hostLink("h1", undefined, name)).toBeUndefined();
    expect(await probeNamespaces("h1")).toEqual([]);
  });

  it.each(["Dummy", "Vrf"])(
    "%s on vm1 (a full kernel) is made",
    async (type) => {
      const engine = engineFor(type);
      const name = "ndpfcheck1";
      const extra = type === "Vrf" ? { table: 101 } : {};
      const { id, outs } = await engine.create(engine.check({ connection: connectionInput("vm1"), name, ...extra }).inputs);
      expect((await hostLink("vm1", undefined, name))?.linkinfo?.info_kind).toBe(type.toLowerCase());
      await engine.delete(id, outs);
      expect(await probeNamespaces("vm1")).toEqual([]);
    },
    120_000,
  );
});

describe("objects on a host whose login may not manage the network", () => {
  // The lab's user without sudo, logged in as itself (lab/sudo-users.ts): uid ≠ 0, no CAP_NET_ADMIN.
  const asNosudo = () => connectionInput("h1", { ...sudoLogin(labState(), host("h1"), "nosudo"), sudo: false });

  it.each([
    ["Route", { destination: "10.250.77.0/24", dev: "lo" }, "10.250.77.0/24 dev lo"],
    ["NetworkNamespace", { name: "ndpfobj0" }, "ndpfobj0"],
  ])("a %s fails before touching the host, naming what is missing and how to get it", async (type, fields, described) => {
    const engine = anyEngineFor(type);
    const checked = engine.check({ connection: asNosudo(), ...fields });
    expect(checked.failures).toEqual([]);
    const error = await engine.create(checked.inputs).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    const endpoint = `${labState().sudo!.users.nosudo}@10\\.247\\.0\\.11:${labState().sudo!.rootRefusedPort}`;
    expect(error?.message).toMatch(
      new RegExp(
        `^${endpoint} lacks what ${type} ${described.replace(/[./]/g, "\\$&")} on ${endpoint} needs; nothing was changed there\\. Missing on ${endpoint}:\\n`,
      ),
    );
    expect(error?.message).toMatch(
      /- the right to manage network devices \(the host answered: logged in as uid [1-9]\d*, without CAP_NET_ADMIN\): log in as root/,
    );
    // Told once: the namespace the login could not make either is not a second line.
    expect(error?.message.split("\n")).toHaveLength(2);
    expect(await onHost("h1", ["ip", "route", "show", "10.250.77.0/24"])).toBe("");
    expect(await probeNamespaces("h1")).toEqual([]);
  });
});

describe("once per host", () => {
  const names = Array.from({ length: 6 }, (_, i) => `ndpfonce${i}`);
  const removeAll = () => Promise.all(names.map((name) => sshPool().exec(connection("h2"), ["ip", "link", "del", "dev", name])));

  it("the first creates on a host pay one probe between them; later ones none", async () => {
    const engine = engineFor("Bridge");
    await onHost("h2", ["true"]); // connected: what follows is the operations' own
    for (const name of names) await onHost("h2", ["sh", "-c", `ip link del dev ${name} 2>/dev/null; true`]);
    const inputs = (name: string) => engine.check({ connection: connectionInput("h2"), name }).inputs;
    const first = await counted(() => Promise.all(names.slice(0, 3).map((name) => engine.create(inputs(name)))));
    expect(first.commands, "three fused creates and one probe").toBe(4);
    const later = await counted(() => Promise.all(names.slice(3).map((name) => engine.create(inputs(name)))));
    expect(later.commands, "three fused creates").toBe(3);
    await Promise.all([...first.value, ...later.value].map(({ id, outs }) => engine.delete(id, outs)));
    for (const name of names) expect(await hostLink("h2", undefined, name)).toBeUndefined();
  });

  afterAll(async () => {
    await removeAll().catch(() => undefined);
  });
});

describe("preflight: true on the connection", () => {
  it("makes the check (what `pulumi preview` runs) report a missing kind; without it the check sends nothing", async () => {
    const engine = engineFor("Dummy");
    const withPreflight = engine.check({ connection: { ...connectionInput("h3"), preflight: true }, name: "ndpfprev0" });
    expect(withPreflight.failures).toEqual([]);
    const failures = await engine.preflight(withPreflight.inputs);
    expect(failures).toEqual([
      {
        property: "connection",
        reason: expect.stringMatching(/^kernel on root@10\.247\.0\.13:22 lacks dummy support, which Dummy ndpfprev0 on root@10\.247\.0\.13:22 needs;/),
      },
    ]);

    const plain = engine.check({ connection: connectionInput("h3"), name: "ndpfprev0" });
    const { value, commands } = await counted(() => engine.preflight(plain.inputs));
    expect(value).toEqual([]);
    expect(commands).toBe(0);
  });
});
