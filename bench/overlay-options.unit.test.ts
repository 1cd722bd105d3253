import { describe, expect, it } from "vitest";
import { parseOverlayBenchOptions } from "./overlay-options";

describe("parseOverlayBenchOptions", () => {
  it("defaults to 30 and 80 hosts, 3 runs, both forms and the floor", () => {
    expect(parseOverlayBenchOptions({}, 80)).toEqual({
      hostCounts: [30, 80],
      runs: 3,
      forms: ["per-device", "per-host", "floor"],
      checkpoints: ["saved", "skipped"],
    });
  });

  it("reads the forms to run, refusing one the overlay does not have", () => {
    expect(parseOverlayBenchOptions({ forms: "per-host" }, 80).forms).toEqual(["per-host"]);
    // The one-resource floor runs only when named: it is a measurement, not a form of the overlay.
    expect(parseOverlayBenchOptions({ forms: "floor,floor-one" }, 80).forms).toEqual(["floor", "floor-one"]);
    expect(() => parseOverlayBenchOptions({ forms: "per-host,per-rack" }, 80)).toThrow(/--forms.*"per-rack"/);
  });

  it("reads a list of sizes and a run count, once each size", () => {
    expect(parseOverlayBenchOptions({ hosts: "4, 30,4", runs: "1" }, 80)).toMatchObject({ hostCounts: [4, 30], runs: 1 });
  });

  it("refuses sizes the lab cannot hold, too small to ping after up, or not numbers", () => {
    expect(() => parseOverlayBenchOptions({ hosts: "81" }, 80)).toThrow(/3 to 80/);
    expect(() => parseOverlayBenchOptions({ hosts: "2" }, 80)).toThrow(/3 to 80/);
    expect(() => parseOverlayBenchOptions({ hosts: "30,x" }, 80)).toThrow(/"x"/);
    expect(() => parseOverlayBenchOptions({ hosts: "4.5" }, 80)).toThrow(/--hosts/);
  });

  it("reads the checkpoint settings and --parallel, refusing others", () => {
    expect(parseOverlayBenchOptions({ checkpoints: "skipped", parallel: "80" }, 80)).toMatchObject({ checkpoints: ["skipped"], parallel: 80 });
    expect(() => parseOverlayBenchOptions({ checkpoints: "sometimes" }, 80)).toThrow(/--checkpoints.*"sometimes"/);
    expect(() => parseOverlayBenchOptions({ parallel: "0" }, 80)).toThrow(/--parallel/);
    expect(() => parseOverlayBenchOptions({ parallel: "many" }, 80)).toThrow(/--parallel/);
  });

  it("refuses a run count below 1", () => {
    expect(() => parseOverlayBenchOptions({ runs: "0" }, 80)).toThrow(/--runs/);
    expect(() => parseOverlayBenchOptions({ runs: "two" }, 80)).toThrow(/--runs/);
  });
});
