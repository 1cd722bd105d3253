import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { collectRejections, recordRegistrations } from "../../test/support/mocks";

/**
 * `pulumi preview` of a program whose VMs are not made yet: their addresses are unknown, and so
 * is every value planned from them. The components still register every child (the plan shows
 * what will be made), with the planned inputs unknown and nothing failing.
 */
const registered = recordRegistrations({ preview: true, stateOf: (r) => (r.type === "test:index:Vm" ? {} : r.inputs) });

/** A resource of another provider whose address is known only once it exists, as a new cloud VM's. */
class Vm extends pulumi.CustomResource {
  declare readonly address: pulumi.Output<string>;
  constructor(name: string) {
    super("test:index:Vm", name, { address: undefined });
  }
}

const conn = (host: pulumi.Input<string>) => ({ host, user: "root", password: "x", hostKey: `SHA256:${"A".repeat(43)}` });
const children = (prefix: string) => registered.filter((r) => r.name.startsWith(`${prefix}-`) && r.type.startsWith("pulumi-nodejs:dynamic/netdev:"));

describe("preview with unknown host values", () => {
  it("VxlanOverlay, EncryptedOverlay and Attachments on VMs not made yet: every child registered, planned inputs unknown, no error", async () => {
    const { VxlanOverlay, EncryptedOverlay, Attachment } = await import("./index");
    const vms = [new Vm("vm-a"), new Vm("vm-b")];
    const rejections = await collectRejections(() => {
      const overlay = new VxlanOverlay("ov", {
        vni: 5,
        hosts: vms.map((vm, i) => ({ name: `h${i}`, connection: conn(vm.address), underlayAddress: vm.address })),
      });
      new Attachment("att", { overlay, host: "h1", namespace: "web", address: "192.168.5.2/24" });
      new EncryptedOverlay("eo", {
        vni: 6,
        wgSubnet: "10.250.0.0/24",
        hosts: vms.map((vm, i) => ({
          name: `h${i}`,
          connection: conn(vm.address),
          underlayAddress: vm.address,
          privateKey: pulumi.secret("yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="),
        })),
      });
    }, 300);
    expect(rejections).toEqual([]);
    expect(
      children("ov")
        .map((r) => r.name)
        .sort(),
    ).toEqual(["ov-flood", "ov-h0-bridge", "ov-h0-vtep", "ov-h1-bridge", "ov-h1-vtep"]);
    expect(children("att").map((r) => r.name)).toEqual(["att-netns", "att-veth"]);
    expect(
      children("eo")
        .map((r) => r.name)
        .sort(),
    ).toEqual(["eo-flood", "eo-h0-bridge", "eo-h0-vtep", "eo-h0-wg", "eo-h1-bridge", "eo-h1-vtep", "eo-h1-wg", "eo-wg-peers"]);
    for (const child of [...children("ov"), ...children("att"), ...children("eo")]) {
      // Planned from the unknown addresses: unknown, not absent and not an error.
      const lists = child.name.endsWith("-flood") ? "vteps" : child.name.endsWith("-wg-peers") ? "interfaces" : undefined;
      expect(pulumi.isUnknown(lists ? child.inputs[lists] : child.inputs.name), `${child.name}.name`).toBe(true);
      expect(lists ? child.inputs.connections : child.inputs.connection, `${child.name}.connection`).toBeDefined();
    }
    const vtep = registered.find((r) => r.name === "ov-h0-vtep")!;
    for (const field of ["local", "mtu", "vni"]) expect(pulumi.isUnknown(vtep.inputs[field]), field).toBe(true);
  });
});
