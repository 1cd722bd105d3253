import * as pulumi from "@pulumi/pulumi";
import { Attachment, EncryptedOverlay, VxlanOverlay } from "pulumi-netdev";

// Mistakes a user makes with the components, one per run (config `case`). Nothing here reaches
// a host: each is refused while the program runs, which `pulumi preview` shows.
const connection = (host: string) => ({ host, user: "root", password: "unused", hostKey: `SHA256:${"A".repeat(43)}` });
const wgKey = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";

switch (new pulumi.Config().require("case")) {
  case "malformed-key":
    new EncryptedOverlay("eov", {
      vni: 6,
      wgSubnet: "10.250.0.0/24",
      hosts: [
        { name: "a", connection: connection("192.0.2.1"), underlayAddress: "192.0.2.1", privateKey: wgKey },
        { name: "b", connection: connection("192.0.2.2"), underlayAddress: "192.0.2.2", privateKey: pulumi.secret("bm90LWEta2V5") },
      ],
    });
    break;
  case "mixed-families":
    new VxlanOverlay("ov", {
      vni: 7,
      hosts: [
        { name: "a", connection: connection("192.0.2.1"), underlayAddress: pulumi.output("192.0.2.1") },
        { name: "b", connection: connection("192.0.2.2"), underlayAddress: pulumi.output("2001:db8::2") },
      ],
    });
    break;
  case "unknown-host": {
    const overlay = new VxlanOverlay("ov", { vni: 8, hosts: [{ name: "a", connection: connection("192.0.2.1"), underlayAddress: "192.0.2.1" }] });
    new Attachment("web", { overlay, host: "b", namespace: "web" });
    break;
  }
}
