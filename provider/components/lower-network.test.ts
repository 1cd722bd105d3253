import { scratchParent } from "../../test/support/lifecycle";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectionInput, host } from "../../test/support/lab-hosts";
import { planIpvlanNetwork, planMacvlanNetwork } from "./lower-network";
import { applyPlan, destroyApplied, exec, pingEventually, pingFrom, removeLeftovers, type Applied } from "../../test/support/components";

/** Namespaces on a parent through macvlan (netns host h1) and ipvlan (vm1: this machine's kernel has no ipvlan). */
describe("MacvlanNetwork on h1's underlay interface", () => {
  const namespaces = ["ndo-mv-a", "ndo-mv-b"];
  let applied: Applied[] = [];
  const plan = (mode: "bridge" | "private") =>
    planMacvlanNetwork({
      connection: connectionInput("h1"),
      parent: host("h1").underlayInterface,
      mode,
      members: namespaces.map((namespace, i) => ({ namespace, address: `192.168.101.${i + 1}/24` })),
    });

  beforeAll(async () => removeLeftovers("h1", [], namespaces));
  afterAll(async () => {
    await destroyApplied(applied).catch(() => undefined);
    await removeLeftovers("h1", [], namespaces);
  });

  it("bridge mode: sibling namespaces reach each other", async () => {
    applied = await applyPlan(plan("bridge"));
    const link = await exec("h1", ["ip", "-n", "ndo-mv-a", "-json", "-details", "link", "show", "dev", "eth0"]);
    expect(JSON.parse(link.stdout)[0].linkinfo).toMatchObject({ info_kind: "macvlan", info_data: { mode: "bridge" } });
    expect(await pingEventually("h1", "ndo-mv-a", "192.168.101.2")).toBe(true);
    expect(await pingEventually("h1", "ndo-mv-b", "192.168.101.1")).toBe(true);
    await destroyApplied(applied);
    expect((await exec("h1", ["ip", "netns", "list"])).stdout).not.toContain("ndo-mv-a");
  });

  it("private mode: no traffic between siblings", async () => {
    applied = await applyPlan(plan("private"));
    const link = await exec("h1", ["ip", "-n", "ndo-mv-a", "-json", "-details", "link", "show", "dev", "eth0"]);
    expect(JSON.parse(link.stdout)[0].linkinfo.info_data.mode).toBe("private");
    expect(await pingFrom("h1", "ndo-mv-a", "192.168.101.2")).toBe(false);
    expect(await pingFrom("h1", "ndo-mv-b", "192.168.101.1")).toBe(false);
    await destroyApplied(applied);
  });
});

describe("IpvlanNetwork on vm1 (full kernel)", () => {
  const namespaces = ["ndo-iv-a", "ndo-iv-b"];
  let applied: Applied[] = [];
  // Its own parent: ipvlan keeps one mode per parent, shared with other tests' ipvlans.
  let parent: Awaited<ReturnType<typeof scratchParent>>;
  beforeAll(async () => {
    await removeLeftovers("vm1", [], namespaces);
    parent = await scratchParent("vm1", "ndoivpar");
  });
  afterAll(async () => {
    await destroyApplied(applied).catch(() => undefined);
    await removeLeftovers("vm1", [], namespaces);
    await parent?.remove();
  });

  it("l2 bridge: sibling namespaces reach each other", async () => {
    applied = await applyPlan(
      planIpvlanNetwork({
        connection: connectionInput("vm1"),
        parent: parent.name,
        mode: "l2",
        members: namespaces.map((namespace, i) => ({ namespace, address: `192.168.102.${i + 1}/24` })),
      }),
    );
    expect(await pingEventually("vm1", "ndo-iv-a", "192.168.102.2")).toBe(true);
    await destroyApplied(applied);
  });
});
