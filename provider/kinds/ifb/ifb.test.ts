import { afterAll, describe, expect, it } from "vitest";
import { deviceEngine } from "../../registry";
import { sshPool } from "../../ssh/pool";
import { connection, connectionInput } from "../../../test/support/lab-hosts";
import { expectRejected, hostLink, onHost, runLifecycle } from "../../../test/support/lifecycle";

afterAll(() => sshPool().closeAll());

const queuesOf = (link: any) => [link.num_tx_queues, link.num_rx_queues];

describe("Ifb on a netns lab host", () => {
  it("goes through the whole lifecycle", async () => {
    await runLifecycle({
      type: "Ifb",
      host: "h1",
      inputs: { name: "ndifb0", queues: 2, txQueueLength: 500, alias: "ingress shaper" },
      verifyCreated(link, outs) {
        expect(queuesOf(link)).toEqual([2, 2]);
        expect(link.txqlen).toBe(500);
        expect(link.flags).toContain("UP");
        expect(outs).toMatchObject({ queues: 2, txQueueLength: 500, alias: "ingress shaper" });
      },
      inPlace: [
        { patch: { txQueueLength: 2000 }, verify: (link, outs) => expect([link.txqlen, outs.txQueueLength]).toEqual([2000, 2000]) },
        {
          patch: { txQueueLength: 2000, mtu: 9000, addresses: ["192.168.91.1/32"] },
          verify: (link) => {
            expect(link.mtu).toBe(9000);
            expect(link.addr_info.map((a: any) => `${a.local}/${a.prefixlen}`)).toContain("192.168.91.1/32");
            expect(queuesOf(link), "the same device, its queues as made").toEqual([2, 2]);
          },
        },
      ],
      replace: {
        patch: { queues: 4, txQueueLength: 2000 },
        verify: (link) => {
          expect(queuesOf(link)).toEqual([4, 4]);
          expect(link.txqlen).toBe(2000);
        },
      },
      outOfBandCreate: ["ip", "link", "add", "ndifb0", "numtxqueues", "4", "numrxqueues", "4", "txqueuelen", "2000", "type", "ifb"],
    });
  });

  it("shows a queue length changed by hand as drift on refresh, and the next update sets it back", async () => {
    const engine = deviceEngine("Ifb");
    const name = "ndifb1";
    await sshPool().exec(connection("h1"), ["ip", "link", "del", "dev", name]);
    const { inputs } = engine.check({ connection: connectionInput("h1"), name, txQueueLength: 300 });
    const created = await engine.create(inputs);
    const id = created.id;
    let outs = created.outs;
    try {
      await onHost("h1", ["ip", "link", "set", "dev", name, "txqueuelen", "77"]);
      const refreshed = await engine.read(id, outs);
      expect(refreshed.props.txQueueLength).toBe(77);
      expect(engine.diff(refreshed.props, inputs)).toMatchObject({ changes: true, replaces: [] });
      outs = (await engine.update(id, refreshed.props, inputs)).outs;
      expect(outs.txQueueLength).toBe(300);
      expect((await hostLink("h1", undefined, name)).txqlen).toBe(300);
      expect(engine.diff((await engine.read(id, outs)).props, inputs).changes).toBe(false);
    } finally {
      await engine.delete(id, outs);
    }
    expect(await hostLink("h1", undefined, name)).toBeUndefined();
  });

  it("refuses bad inputs with the field named, sending no command", () => {
    expectRejected("Ifb", "h1", { name: "ndifb2" }, [
      [{ queues: 0 }, "queues"],
      [{ queues: 4097 }, "queues"],
      [{ queues: 1.5 }, "queues"],
      [{ txQueueLength: 0 }, "txQueueLength"],
      [{ txQueueLength: "1000" }, "txQueueLength"],
    ]);
  });
});
