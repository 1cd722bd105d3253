import { generateKeyPairSync } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot } from "../../../lab/hosts";
import { labStack } from "../../../lab/stack";
import { deviceEngine, engineFor } from "../../registry";
import { sshPool } from "../../ssh/pool";
import { connection, connectionInput, host } from "../../../test/support/lab-hosts";
import { hostLink, onHost, runLifecycle } from "../../../test/support/lifecycle";
import { HOST_KEY_DIFFERS, wireguardPublicKey } from "./wireguard";

afterAll(() => sshPool().closeAll());

/** A fresh WireGuard private key (what `wg genkey` prints). */
function genkey(): string {
  const jwk = generateKeyPairSync("x25519").privateKey.export({ format: "jwk" });
  return Buffer.from(jwk.d!, "base64url").toString("base64");
}

/** `wg show <dev> dump` on the host, as the test reads it to verify (the provider never reads a dump). */
async function wgShow(hostName: string, dev: string) {
  const [iface, ...peerLines] = (await onHost(hostName, ["wg", "show", dev, "dump"])).trim().split("\n");
  const [, publicKey, listenPort, fwmark] = iface!.split("\t");
  const peers = Object.fromEntries(
    peerLines.map((line) => {
      const [key, , endpoint, allowedIps, , , , keepalive] = line.split("\t");
      return [key, { endpoint, allowedIps: allowedIps === "(none)" ? [] : allowedIps!.split(",").sort(), keepalive }];
    }),
  );
  return { publicKey, listenPort: Number(listenPort), fwmark, peers };
}

/** Every file below `dir`. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name));
}

const [K1, K2, K3, PEER_A, PEER_B, PEER_C] = Array.from({ length: 6 }, genkey);
const [A, B, C] = [PEER_A, PEER_B, PEER_C].map((k) => wireguardPublicKey(k!));
const HOST = "vm1";

// This machine's kernel (and so h1-h3) has no wireguard: the VM lab host's Debian kernel does.
describe("WireguardInterface on a VM lab host", () => {
  it("goes through the whole lifecycle: create, read, in place (listenPort, peers, privateKey), replace, drift, adopt, delete", async () => {
    const peerA = { publicKey: A, endpoint: "10.247.0.102:51820", allowedIps: ["10.99.0.2/32"], persistentKeepalive: 25 };
    const peerB = { publicKey: B, allowedIps: ["10.99.0.3/32", "10.98.0.0/16"] };
    const base = { name: "ndwg0", privateKey: K1, listenPort: 51820, peers: [peerA], addresses: ["10.99.0.1/24"] };
    const step2 = { ...base, listenPort: 51821 };
    const step3 = { ...step2, peers: [{ ...peerA, allowedIps: ["10.99.0.2/32", "10.99.1.0/24"], persistentKeepalive: 0 }, peerB] };
    const step4 = { ...step3, privateKey: K2 };
    const verifyFinal = async (dev: string, outs: Record<string, unknown>) => {
      const wg = await wgShow(HOST, dev);
      expect(wg.publicKey).toBe(wireguardPublicKey(K2!));
      expect(outs.publicKey).toBe(wg.publicKey);
      expect(wg.listenPort).toBe(51821);
      expect(Object.keys(wg.peers).sort()).toEqual([A, B].sort());
      expect(wg.peers[A]).toEqual({ endpoint: "10.247.0.102:51820", allowedIps: ["10.99.0.2/32", "10.99.1.0/24"], keepalive: "off" });
      expect(wg.peers[B]).toMatchObject({ endpoint: "(none)", allowedIps: ["10.98.0.0/16", "10.99.0.3/32"] });
    };
    await runLifecycle({
      type: "WireguardInterface",
      host: HOST,
      inputs: base,
      async verifyCreated(link, outs) {
        const wg = await wgShow(HOST, "ndwg0");
        expect(wg.publicKey).toBe(wireguardPublicKey(K1!));
        expect(outs.publicKey).toBe(wg.publicKey);
        expect(wg.listenPort).toBe(51820);
        expect(wg.peers).toEqual({ [A]: { endpoint: "10.247.0.102:51820", allowedIps: ["10.99.0.2/32"], keepalive: "25" } });
        expect(link.addr_info.map((a: { local: string }) => a.local)).toContain("10.99.0.1");
      },
      inPlace: [
        { patch: step2, verify: async () => expect((await wgShow(HOST, "ndwg0")).listenPort).toBe(51821) },
        {
          patch: step3,
          verify: async () => {
            const wg = await wgShow(HOST, "ndwg0");
            expect(wg.peers[A]).toEqual({ endpoint: "10.247.0.102:51820", allowedIps: ["10.99.0.2/32", "10.99.1.0/24"], keepalive: "off" });
            expect(wg.peers[B]?.allowedIps).toEqual(["10.98.0.0/16", "10.99.0.3/32"]);
          },
        },
        { patch: step4, verify: async (_link, outs) => verifyFinal("ndwg0", outs) },
        {
          // wg cannot unset an endpoint: dropping it removes the peer and sets it again.
          patch: { ...step4, peers: [{ ...step3.peers[0]!, endpoint: undefined }, peerB] },
          verify: async () => {
            const wg = await wgShow(HOST, "ndwg0");
            expect(wg.peers[A]).toEqual({ endpoint: "(none)", allowedIps: ["10.99.0.2/32", "10.99.1.0/24"], keepalive: "off" });
            expect(wg.peers[B]?.allowedIps).toEqual(["10.98.0.0/16", "10.99.0.3/32"]);
          },
        },
        { patch: step4, verify: async (_link, outs) => verifyFinal("ndwg0", outs) },
      ],
      replace: { patch: { ...step4, name: "ndwg1" }, verify: async (_link, outs) => verifyFinal("ndwg1", outs) },
      // Adoption takes a bare interface and converges key, port and peers onto it.
      outOfBandCreate: ["ip", "link", "add", "ndwg1", "type", "wireguard"],
    });
  }, 240_000);

  it("refresh shows peers and a key changed by hand (never the host's key); update restores them", async () => {
    const engine = deviceEngine("WireguardInterface");
    await sshPool().exec(connection(HOST), ["ip", "link", "del", "dev", "ndwg2"]);
    const desired = engine.check({
      connection: connectionInput(HOST),
      name: "ndwg2",
      privateKey: K3,
      listenPort: 51830,
      peers: [{ publicKey: A, endpoint: "10.247.0.102:51830", allowedIps: ["10.99.0.2/32"] }],
    });
    expect(desired.failures).toEqual([]);
    const { id, outs } = await engine.create(desired.inputs);
    try {
      expect(engine.diff((await engine.read(id, outs)).props, desired.inputs).changes).toBe(false);
      await onHost(HOST, ["wg", "set", "ndwg2", "peer", A, "allowed-ips", "10.99.9.0/24", "peer", C, "allowed-ips", "10.99.0.4/32"]);
      // A key set by hand: through stdin here too.
      const other = genkey();
      await sshPool().run(connection(HOST), ["wg", "set", "ndwg2", "private-key", "/proc/self/fd/0"], { stdin: `${other}\n` });
      const drifted = await engine.read(id, outs);
      expect(drifted.props.peers).toEqual(
        [
          { publicKey: A, endpoint: "10.247.0.102:51830", allowedIps: ["10.99.9.0/24"] },
          { publicKey: C, allowedIps: ["10.99.0.4/32"] },
        ].sort((a, b) => (a.publicKey < b.publicKey ? -1 : 1)),
      );
      expect(drifted.props.privateKey).toBe(HOST_KEY_DIFFERS);
      expect(drifted.props.publicKey).toBe(wireguardPublicKey(other));
      expect(JSON.stringify(drifted)).not.toContain(other);
      const diff = engine.diff(drifted.props, desired.inputs);
      expect(diff).toMatchObject({ changes: true, replaces: [] });
      const updated = await engine.update(id, drifted.props, desired.inputs);
      const wg = await wgShow(HOST, "ndwg2");
      expect(wg.publicKey).toBe(wireguardPublicKey(K3!));
      expect(wg.peers).toEqual({ [A]: { endpoint: "10.247.0.102:51830", allowedIps: ["10.99.0.2/32"], keepalive: "off" } });
      expect(engine.diff(updated.outs, desired.inputs).changes).toBe(false);
      expect(engine.diff((await engine.read(id, updated.outs)).props, desired.inputs).changes).toBe(false);
    } finally {
      await engine.delete(id, outs);
    }
    expect(await hostLink(HOST, undefined, "ndwg2")).toBeUndefined();
  }, 120_000);

  it("a create that fails after the key was sent says why, never quoting the key, and leaves nothing", async () => {
    // Another interface holds the port: the new one cannot come up on it.
    await sshPool().exec(connection(HOST), ["ip", "link", "del", "dev", "ndwgbusy"]);
    await sshPool().exec(connection(HOST), ["ip", "link", "del", "dev", "ndwg3"]);
    await onHost(HOST, ["ip", "link", "add", "ndwgbusy", "type", "wireguard"]);
    try {
      await onHost(HOST, ["wg", "set", "ndwgbusy", "listen-port", "51840"]);
      await onHost(HOST, ["ip", "link", "set", "ndwgbusy", "up"]);
      for (const engine of [deviceEngine("WireguardInterface"), engineFor("WireguardInterface")]) {
        const inputs = engine.check({ connection: connectionInput(HOST), name: "ndwg3", privateKey: K3, listenPort: 51840 }).inputs;
        const error = await engine.create(inputs).then(
          () => undefined,
          (e: Error) => e,
        );
        expect(error, "create must fail").toBeInstanceOf(Error);
        const text = `${error!.message}\n${error!.stack}\n${JSON.stringify(error)}`;
        expect(text).toMatch(/ndwg3/);
        expect(text).not.toContain(K3);
        expect(text).not.toContain(K3!.slice(0, 20));
        expect(await hostLink(HOST, undefined, "ndwg3"), "nothing left behind").toBeUndefined();
      }
    } finally {
      await sshPool().exec(connection(HOST), ["ip", "link", "del", "dev", "ndwgbusy"]);
    }
  }, 120_000);

  it("a real `pulumi up` keeps the private key a secret: state holds it only encrypted, the CLI's output never shows it", async () => {
    await sshPool().exec(connection(HOST), ["ip", "link", "del", "dev", "ndwgst"]);
    // The key is passed in plain text, as a careless program would: the class seals it.
    const spec = {
      hosts: { [HOST]: host(HOST) },
      devices: [{ type: "WireguardInterface", resourceName: "wg", host: HOST, inputs: { name: "ndwgst", privateKey: K1, listenPort: 51850 } }],
    };
    process.env.NETDEV_E2E_SPEC = JSON.stringify(spec);
    const { stack, home } = await labStack(path.join(repoRoot, "test/e2e/stack"), ["Pulumi.yaml", "index.js"], "wg");
    let output = "";
    const onOutput = (text: string) => void (output += text);
    try {
      const up = await stack.up({ onOutput });
      expect(up.summary.result).toBe("succeeded");
      expect((await wgShow(HOST, "ndwgst")).publicKey).toBe(wireguardPublicKey(K1!));
      await stack.refresh({ onOutput });
      const preview = await stack.preview({ onOutput, diff: true });
      expect(preview.changeSummary).toEqual({ same: 3 }); // the stack, its netdev identity, the interface
      // The file backend's own files (state, backups, history): the key must not be in any of
      // them. (stack.exportStack() would not do: the Automation API exports with --show-secrets.)
      const files = filesUnder(path.join(home, "state"));
      expect(
        files.some((f) => f.endsWith("wg.json")),
        "the stack's state file",
      ).toBe(true);
      for (const file of files) expect(readFileSync(file, "utf8").includes(K1!), file).toBe(false);
      const saved = JSON.parse(readFileSync(files.find((f) => f.endsWith("wg.json"))!, "utf8"));
      const resource = saved.checkpoint.latest.resources.find((r: { type: string }) => r.type.endsWith("WireguardInterface"));
      for (const where of [resource.inputs, resource.outputs]) {
        expect(where.privateKey[pulumi.runtime.specialSigKey]).toBe(pulumi.runtime.specialSecretSig);
        expect(typeof where.privateKey.ciphertext).toBe("string");
      }
      // The public key is an ordinary output, readable by whoever configures the peers.
      expect(resource.outputs.publicKey).toBe(wireguardPublicKey(K1!));
      expect(output).not.toContain(K1);
    } finally {
      await stack.destroy({ onOutput });
    }
    expect(output).not.toContain(K1);
    expect(await hostLink(HOST, undefined, "ndwgst")).toBeUndefined();
  }, 300_000);
});
