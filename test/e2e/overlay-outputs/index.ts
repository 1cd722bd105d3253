import * as pulumi from "@pulumi/pulumi";
import { Attachment, EncryptedOverlay, VxlanOverlay } from "pulumi-netdev";

// An overlay across machines that this same program makes, as a user's program makes cloud VMs:
// every host's address, SSH port, host key and SSH key are Outputs of those machines, known only
// once they exist. The machines here are stand-ins, a dynamic resource that reports a lab host
// (config `machines`) as its outputs when it is created. With config `encrypted`, the overlay is
// an EncryptedOverlay whose WireGuard private keys are secret Outputs of a stand-in key store;
// config `form` cuts the overlay's devices "per-device" (default) or "per-host".

interface Machine {
  name: string;
  address: string;
  port: number;
  user: string;
  hostKey: string;
  underlayAddress: string;
}

const config = new pulumi.Config();
const machines = config.requireObject<Machine[]>("machines");
const sshKey = config.requireSecret("privateKey");
const encrypted = config.getBoolean("encrypted") ?? false;
const form = config.get("form") === "per-host" ? "per-host" : "per-device";

// A create that reports what a cloud API would: the machine's addresses and keys, new outputs
// (not echoes of its inputs), so `pulumi preview` of a new stack sees them unknown.
const standInCloud: pulumi.dynamic.ResourceProvider = {
  async create(inputs) {
    const spec = JSON.parse(inputs.spec);
    return {
      id: spec.name,
      outs: {
        spec: inputs.spec,
        keyMaterial: inputs.keyMaterial,
        publicAddress: spec.address,
        sshPort: spec.port,
        sshHostKey: spec.hostKey,
        privateAddress: spec.underlayAddress,
        sshPrivateKey: inputs.keyMaterial,
      },
    };
  },
};

class StandInMachine extends pulumi.dynamic.Resource {
  declare readonly publicAddress: pulumi.Output<string>;
  declare readonly sshPort: pulumi.Output<number>;
  declare readonly sshHostKey: pulumi.Output<string>;
  declare readonly privateAddress: pulumi.Output<string>;
  declare readonly sshPrivateKey: pulumi.Output<string>;
  constructor(name: string, spec: Machine) {
    const outputs = { publicAddress: undefined, sshPort: undefined, sshHostKey: undefined, privateAddress: undefined, sshPrivateKey: undefined };
    super(standInCloud, name, { spec: JSON.stringify(spec), keyMaterial: sshKey, ...outputs }, { additionalSecretOutputs: ["keyMaterial", "sshPrivateKey"] });
  }
}

// A stand-in for a secrets manager: a WireGuard private key generated at create, a secret output.
const standInKeyStore: pulumi.dynamic.ResourceProvider = {
  async create() {
    const { generateKeyPairSync, randomUUID } = require("node:crypto");
    const jwk = generateKeyPairSync("x25519").privateKey.export({ format: "jwk" });
    return { id: randomUUID(), outs: { privateKey: Buffer.from(jwk.d, "base64url").toString("base64") } };
  },
};

class StandInKey extends pulumi.dynamic.Resource {
  declare readonly privateKey: pulumi.Output<string>;
  constructor(name: string) {
    super(standInKeyStore, name, { privateKey: undefined }, { additionalSecretOutputs: ["privateKey"] });
  }
}

const vms = machines.map((m) => ({ name: m.name, user: m.user, vm: new StandInMachine(`vm-${m.name}`, m) }));

const hosts = vms.map(({ name, user, vm }) => ({
  name,
  connection: { host: vm.publicAddress, port: vm.sshPort, user, hostKey: vm.sshHostKey, privateKey: vm.sshPrivateKey },
  underlayAddress: vm.privateAddress,
}));
const names = { bridgeName: "br-out", vtepName: "vx-out" };

const overlay = encrypted
  ? new EncryptedOverlay("overlay", {
      vni: 178,
      wgSubnet: "10.252.0.0/24",
      wgPort: 51901,
      wgName: "wg-out",
      form,
      ...names,
      hosts: hosts.map((h) => ({ ...h, privateKey: new StandInKey(`key-${h.name}`).privateKey })),
    })
  : new VxlanOverlay("overlay", { vni: 177, form, ...names, hosts });

// By reference: connection, bridge and MTU come from the overlay, and each veth is made after its host's bridge.
vms.forEach(({ name }, i) => new Attachment(`container-${name}`, { overlay, host: name, namespace: `co-${name}`, address: `192.168.177.${i + 1}/24` }));

export const overlayMtu = overlay.mtu;
export const underlay = vms.map(({ vm }) => vm.privateAddress);
