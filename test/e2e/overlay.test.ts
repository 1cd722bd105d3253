import { afterAll, describe, expect, it } from "vitest";
import type { Stack } from "@pulumi/pulumi/automation";
import { netnsHosts } from "../support/lab-hosts";
import { hostLink } from "../support/lifecycle";
import { overlayStack, pingAcrossOverlay } from "../../lab/overlay";

/** examples/overlay with the real engine: the stack `npm run demo` runs. */
describe("examples/overlay on three lab hosts", () => {
  let stack: Stack;
  afterAll(async () => {
    await stack?.destroy().catch(() => undefined);
  }, 300_000);

  it("comes up, passes traffic between containers on every pair of hosts, previews clean, destroys clean", async () => {
    const hosts = netnsHosts();
    ({ stack } = await overlayStack(hosts));
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
    await stack.destroy();
    for (const h of hosts) {
      expect(await hostLink(h.name, undefined, "br-overlay")).toBeUndefined();
      expect(await hostLink(h.name, undefined, "vx-overlay")).toBeUndefined();
    }
  }, 600_000);
});
