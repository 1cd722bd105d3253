import { readFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { LocalWorkspace, type Stack } from "@pulumi/pulumi/automation";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot, type LabHost } from "../../lab/hosts";
import { overlayStack, pingAcrossOverlay } from "../../lab/overlay";
import { labProgram, labStack } from "../../lab/stack";
import { sshPool } from "../../provider/ssh/pool";
import { connection, host, labState, netnsHosts } from "../support/lab-hosts";
import { pingEventually } from "../support/components";
import { hostLink, onHost } from "../support/lifecycle";
import { runSetupBlock, setupBlockOf } from "../support/readme-setup";

/** The repository's root program (index.ts) in a copy, as a program of a user's would be. */
const rootProgram = () => labProgram(repoRoot, ["Pulumi.yaml", "index.ts"], { "package.json": JSON.stringify({ name: "netdev-overlay-copy", private: true }) });

/** The root program with the real engine: the stack `npm run demo` runs, in each of the overlay's forms. */
describe.each(["per-device", "per-host"] as const)("the root program (the overlay, %s) on three lab hosts", (form) => {
  let stack: Stack;
  afterAll(async () => {
    await stack?.destroy().catch(() => undefined);
  }, 300_000);

  it("comes up, passes traffic between containers on every pair of hosts, previews clean; a host that leaves and rejoins is reachable at once", async () => {
    const hosts = netnsHosts();
    ({ stack } = await overlayStack(hosts, { form }));
    const up = await stack.up();
    expect(up.summary.result).toBe("succeeded");
    expect(up.outputs.overlayMtu!.value).toBe(1450);
    for (const h of hosts) {
      expect((await hostLink(h.name, undefined, "vx-overlay")).master).toBe("br-overlay");
      expect((await hostLink(h.name, `c-${h.name}`, "eth0")).mtu).toBe(1450);
    }
    const pings = await pingAcrossOverlay(hosts);
    expect(pings).toHaveLength(6);
    expect(pings.filter((p) => !p.ok)).toEqual([]);
    expect(Object.keys((await stack.preview()).changeSummary)).toEqual(["same"]);

    // h3 leaves the overlay (its container, bridge and VTEP go; the flood lists change in
    // place), then rejoins: its container is new, with the same pinned MAC, so h1's container
    // (whose ARP entry for it is still there) reaches it with the very first ping.
    const [h1, , h3] = hosts as [(typeof hosts)[0], (typeof hosts)[0], (typeof hosts)[0]];
    const macBefore = (await hostLink(h3.name, `c-${h3.name}`, "eth0")).address;
    await setHosts(stack, hosts.slice(0, 2));
    const leave = await stack.up();
    expect(leave.summary.result).toBe("succeeded");
    // Membership is one step: the flood lists' update; no other resource changes in place.
    expect(leave.summary.resourceChanges?.update, JSON.stringify(leave.summary.resourceChanges)).toBe(1);
    expect(await hostLink(h3.name, `c-${h3.name}`, "eth0")).toBeUndefined();
    const neighbour = await sshPool().exec(connection(h1.name), ["ip", "-n", `c-${h1.name}`, "neigh", "show", "192.168.100.3"]);
    expect(neighbour.stdout, "h1's container still has a neighbour entry for h3's").toContain(macBefore);
    await setHosts(stack, hosts);
    const join = await stack.up();
    expect(join.summary.result).toBe("succeeded");
    expect(join.summary.resourceChanges?.update, JSON.stringify(join.summary.resourceChanges)).toBe(1);
    expect((await hostLink(h3.name, `c-${h3.name}`, "eth0")).address).toBe(macBefore);
    const first = await sshPool().exec(connection(h1.name), ["ip", "netns", "exec", `c-${h1.name}`, "ping", "-c", "1", "-W", "1", "192.168.100.3"]);
    expect(first.exitCode, `first ping after rejoining: ${first.stdout}${first.stderr}`).toBe(0);

    const refresh = await stack.refresh();
    expect(refresh.summary.resourceChanges?.update ?? 0, JSON.stringify(refresh.summary.resourceChanges)).toBe(0);
    await stack.destroy();
    for (const h of hosts) {
      expect(await hostLink(h.name, undefined, "br-overlay")).toBeUndefined();
      expect(await hostLink(h.name, undefined, "vx-overlay")).toBeUndefined();
      const namespaces = await sshPool().exec(connection(h.name), ["ip", "netns", "list"]);
      expect(namespaces.stdout, `${h.name}'s namespaces after destroy`).not.toContain(`c-${h.name}`);
    }
  }, 600_000);
});

describe("the root program (the overlay) by hand", () => {
  it('CONTRIBUTING.md\'s "Your own hosts" block, run verbatim on two lab hosts, gives a stack whose preview plans the overlay', async () => {
    const [a, b] = netnsHosts();
    const { workDir, env } = rootProgram();
    await runSetupBlock(
      setupBlockOf(path.join(repoRoot, "CONTRIBUTING.md")),
      { HOST_A: a!.address, HOST_B: b!.address, KEY: labState().clientKeyPath },
      workDir,
      env,
    );
    const stack = await LocalWorkspace.selectStack({ stackName: "dev", workDir }, { envVars: env });
    // Per host: bridge, VTEP, the Attachment component with its namespace and veth; plus the
    // VxlanOverlay component, its flood lists and the stack.
    expect(await previewCreates(stack)).toHaveLength(2 * 5 + 3);
  }, 300_000);

  it("a hosts entry stored as text (`--path 'hosts[0]' '{…}'`) fails preview with a message that names it and says how to set it", async () => {
    const [a] = netnsHosts();
    const { workDir, env } = rootProgram();
    const pulumi = (args: string[], input?: string) =>
      execa("pulumi", args, { cwd: workDir, env: { ...process.env, ...env }, reject: false, input, stdin: input === undefined ? "ignore" : "pipe" });
    await pulumi(["stack", "init", "dev"]);
    const entry = JSON.stringify({ name: "a", host: a!.address, hostKey: a!.hostPublicKey, underlayAddress: a!.address });
    expect((await pulumi(["config", "set", "--path", "hosts[0]", entry])).exitCode).toBe(0);
    expect((await pulumi(["config", "set", "--secret", "privateKey"], readFileSync(labState().clientKeyPath, "utf8"))).exitCode).toBe(0);
    const preview = await pulumi(["preview", "--non-interactive"]);
    expect(preview.exitCode).not.toBe(0);
    expect(`${preview.stdout}${preview.stderr}`).toMatch(/stack config hosts\[0\] is text .*--path 'hosts\[0\]\.name' a/);
    expect(`${preview.stdout}${preview.stderr}`).not.toMatch(/TypeError/);
  }, 300_000);
});

/**
 * test/e2e/overlay-outputs: an overlay on machines the same program makes (stand-ins for cloud
 * VMs, a dynamic resource reporting a lab host as new outputs): every host's address, SSH port,
 * host key and SSH key reach the overlay as Outputs.
 */
describe("an overlay whose hosts' addresses and keys are Outputs of other resources in the program", () => {
  const machines = (hosts: LabHost[]) =>
    hosts.map((h) => ({ name: h.name, address: h.address, port: h.port, user: h.username, hostKey: h.hostPublicKey, underlayAddress: h.underlayAddress }));
  const outputsStack = async (name: string) => {
    const { stack } = await labStack(path.join(repoRoot, "test/e2e/overlay-outputs"), ["Pulumi.yaml", "index.ts"], name, {
      "package.json": JSON.stringify({ name: "netdev-overlay-outputs", private: true }),
    });
    return stack;
  };
  const stacks: Stack[] = [];
  afterAll(async () => {
    for (const stack of stacks) await stack.destroy().catch(() => undefined);
  }, 300_000);

  it("previews every child while the machines are unknown, comes up, passes traffic both ways, previews clean, is destroyed", async () => {
    const [a, b] = netnsHosts() as [ReturnType<typeof netnsHosts>[0], ReturnType<typeof netnsHosts>[0]];
    const stack = await outputsStack("outputs");
    stacks.push(stack);
    await stack.setAllConfig({
      machines: { value: JSON.stringify(machines([a, b])) },
      privateKey: { value: readFileSync(a.privateKeyPath, "utf8"), secret: true },
    });

    // Nothing exists yet: every address is unknown, and the plan still lists every child.
    const perHost = (h: string) => [`vm-${h}`, `overlay-${h}-bridge`, `overlay-${h}-vtep`, `container-${h}`, `container-${h}-netns`, `container-${h}-veth`];
    expect(await previewCreates(stack)).toEqual(["netdev-overlay-outputs-outputs", "overlay", "overlay-flood", ...perHost(a.name), ...perHost(b.name)].sort());

    const up = await stack.up();
    expect(up.summary.result).toBe("succeeded");
    expect(up.outputs.overlayMtu!.value).toBe(1450);
    for (const h of [a, b]) {
      expect((await hostLink(h.name, undefined, "vx-out")).master).toBe("br-out");
      expect((await hostLink(h.name, `co-${h.name}`, "eth0")).mtu).toBe(1450);
    }
    expect(await pingEventually(a.name, `co-${a.name}`, "192.168.177.2"), "a → b across the overlay").toBe(true);
    expect(await pingEventually(b.name, `co-${b.name}`, "192.168.177.1"), "b → a across the overlay").toBe(true);
    expect(Object.keys((await stack.preview()).changeSummary)).toEqual(["same"]);

    await stack.destroy();
    for (const h of [a, b]) {
      expect(await hostLink(h.name, undefined, "br-out")).toBeUndefined();
      expect(await hostLink(h.name, undefined, "vx-out")).toBeUndefined();
    }
  }, 600_000);

  it.each(["per-device", "per-host"] as const)(
    "an EncryptedOverlay (%s) on the VMs whose WireGuard keys are secret Outputs of a stand-in key store: up, ping both ways, destroy",
    async (form) => {
      const [a, b] = [host("vm1"), host("vm2")];
      const stack = await outputsStack(`outputs-encrypted-${form}`);
      stacks.push(stack);
      await stack.setAllConfig({
        machines: { value: JSON.stringify(machines([a, b])) },
        privateKey: { value: readFileSync(a.privateKeyPath, "utf8"), secret: true },
        encrypted: { value: "true" },
        form: { value: form },
      });
      const devices = (h: string) => (form === "per-host" ? [`overlay-${h}-devices`] : [`overlay-${h}-bridge`, `overlay-${h}-vtep`]);
      const wg = (h: string) => (form === "per-host" ? [] : [`overlay-${h}-wg`]);
      const perHost = (h: string) => [`vm-${h}`, `key-${h}`, ...wg(h), ...devices(h), `container-${h}`, `container-${h}-netns`, `container-${h}-veth`];
      expect(await previewCreates(stack)).toEqual(
        [`netdev-overlay-outputs-outputs-encrypted-${form}`, "overlay", "overlay-flood", "overlay-wg-peers", ...perHost(a.name), ...perHost(b.name)].sort(),
      );

      const up = await stack.up();
      expect(up.summary.result).toBe("succeeded");
      expect(up.outputs.overlayMtu!.value).toBe(1370);
      for (const h of [a, b]) expect((await hostLink(h.name, undefined, "vx-out")).master).toBe("br-out");
      expect(await pingEventually(a.name, `co-${a.name}`, "192.168.177.2"), "vm1 → vm2 inside WireGuard").toBe(true);
      expect(await pingEventually(b.name, `co-${b.name}`, "192.168.177.1"), "vm2 → vm1 inside WireGuard").toBe(true);
      if (form === "per-host") {
        // The interface is a device of the host's HostDevices; its key is in state only as a secret of its own.
        const resources = (await stack.exportStack()).deployment.resources as Array<{
          urn: string;
          inputs: Record<string, unknown>;
          outputs: Record<string, unknown>;
        }>;
        const hostDevices = resources.find((r) => r.urn.endsWith(`::overlay-${a.name}-devices`))!;
        for (const props of [hostDevices.inputs, hostDevices.outputs]) {
          // exportStack shows secrets: marked secret, in plain text here only.
          expect(props.privateKeys).toEqual({
            "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
            plaintext: expect.stringContaining('"wg"'),
          });
          expect((props.devices as Record<string, Record<string, unknown>>).wg).toMatchObject({ kind: "wireguard", name: "wg-out" });
          expect((props.devices as Record<string, Record<string, unknown>>).wg).not.toHaveProperty("privateKey");
        }
        expect(await onHost(a.name, ["wg", "show", "wg-out", "public-key"])).toContain(
          ((hostDevices.outputs.devices as Record<string, Record<string, unknown>>).wg!.publicKey as string).trim(),
        );
      }

      await stack.destroy();
      for (const h of [a, b]) {
        expect(await hostLink(h.name, undefined, "wg-out")).toBeUndefined();
        expect(await hostLink(h.name, undefined, "br-out")).toBeUndefined();
      }
    },
    600_000,
  );

  it("a machine reporting a bad address fails `up` with one message naming the overlay, the host and the field, and no stack", async () => {
    const [a, b] = netnsHosts() as [ReturnType<typeof netnsHosts>[0], ReturnType<typeof netnsHosts>[0]];
    const stack = await outputsStack("outputs-bad");
    stacks.push(stack);
    await stack.setAllConfig({
      machines: { value: JSON.stringify(machines([a, { ...b, underlayAddress: "10.247.0.300" }])) },
      privateKey: { value: readFileSync(a.privateKeyPath, "utf8"), secret: true },
    });
    const failed = await stack.up().then(
      () => undefined,
      (error: Error) => error,
    );
    expect(failed, "up must fail").toBeDefined();
    const text = failed!.message;
    expect(text).toContain(`VxlanOverlay "overlay": host "${b.name}": underlayAddress: "10.247.0.300" is not an IPv4 or IPv6 address`);
    expect(text).not.toMatch(/error serializing|unhandled exception|\s+at .*\(.*\.(ts|js):\d+/);
    // The CLI prints it on the overlay's progress line and once under Diagnostics.
    const diagnostics = text.slice(text.indexOf("Diagnostics:"), text.indexOf("Resources:"));
    expect(diagnostics.split(`host "${b.name}": underlayAddress`).length - 1, `reported once: ${diagnostics}`).toBe(1);
    expect(diagnostics).toMatch(/netdev:index:VxlanOverlay \(overlay\):\n\s+error: VxlanOverlay "overlay"/);
  }, 300_000);
});

/** The names of the resources a preview plans to create, but providers and the stack's identity resource (one in every stack, whatever the program). */
async function previewCreates(stack: Stack): Promise<string[]> {
  const names: string[] = [];
  await stack.preview({
    onEvent: (event) => {
      const step = event.resourcePreEvent?.metadata;
      if (step?.op === "create" && !step.type.startsWith("pulumi:providers:") && !step.type.endsWith(":StackIdentity"))
        names.push(step.urn.split("::").at(-1)!);
    },
  });
  return names.sort();
}

async function setHosts(stack: Stack, hosts: ReturnType<typeof netnsHosts>): Promise<void> {
  const config = hosts.map((h) => ({ name: h.name, host: h.address, port: h.port, hostKey: h.hostPublicKey, underlayAddress: h.underlayAddress }));
  await stack.setConfig("hosts", { value: JSON.stringify(config) });
}
