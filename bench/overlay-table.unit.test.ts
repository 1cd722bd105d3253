import { describe, expect, it } from "vitest";
import { median, medianCell, type OverlayRow, overlayTable } from "./overlay-table";

describe("median and medianCell", () => {
  it("takes the middle value, or the mean of the two middle ones", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it("writes the median, then each run's value in run order", () => {
    expect(medianCell([9.42, 10.1, 9.5], (v) => v.toFixed(1))).toBe("9.5 (9.4, 10.1, 9.5)");
  });

  it("writes one value when the runs agree as printed, or when there is one run", () => {
    expect(medianCell([116, 116, 116], String)).toBe("116");
    expect(medianCell([7.25], (v) => v.toFixed(1))).toBe("7.3");
    expect(medianCell([], String)).toBe("–");
  });
});

describe("overlayTable", () => {
  const measure = (seconds: number, pings = true) => ({
    seconds,
    resources: 118,
    stateBytes: 412_345,
    ...(pings ? { pings: { pairs: 406, firstWithin1s: 406, eventually: 406 } } : {}),
  });
  const rows: OverlayRow[] = [
    { hosts: 30, form: "per-device", checkpoints: "skipped", step: "destroy", runs: [measure(5, false)] },
    { hosts: 30, form: "per-device", checkpoints: "saved", step: "up", runs: [measure(9.5), measure(9.1), measure(9.9)] },
    { hosts: 30, form: "per-device", checkpoints: "skipped", step: "up", runs: [measure(6.4)] },
    {
      hosts: 30,
      form: "per-device",
      checkpoints: "saved",
      step: "join",
      runs: [
        { ...measure(7.1), pings: { pairs: 435, firstWithin1s: 430, eventually: 435, slowestSeconds: 6.8 }, cpu: { hostsS: 2.04, pulumiS: 5.5 } },
        { ...measure(7.3), cpu: { hostsS: 1.9, pulumiS: 6.1 } },
      ],
    },
    { hosts: 80, form: "per-device", checkpoints: "saved", step: "up", runs: [measure(46)] },
  ];

  it("lists one size's steps in order, each checkpoint setting beside the other", () => {
    const lines = overlayTable(rows, 30, 30).split("\n");
    expect(lines[0]).toContain("| 30 hosts | form | checkpoints | seconds | CPU s, lab hosts | CPU s, Pulumi side |");
    expect(lines[0]).toContain("answered within 30 s");
    expect(lines.slice(2)).toEqual([
      "| `up` of 29 hosts | per-device | saved | 9.5 (9.5, 9.1, 9.9) | – | – | 118 | 412 | 406 | 406 | 406 | – |",
      "| `up` of 29 hosts | per-device | skipped (`PULUMI_SKIP_CHECKPOINTS=true`) | 6.4 | – | – | 118 | 412 | 406 | 406 | 406 | – |",
      "| h30 joins | per-device | saved | 7.2 (7.1, 7.3) | 2.0 (2.0, 1.9) | 5.8 (5.5, 6.1) | 118 | 412 | 421 (435, 406) | 418 (430, 406) | 421 (435, 406) | 6.8 s in 1 of 2 |",
      "| `destroy` | per-device | skipped (`PULUMI_SKIP_CHECKPOINTS=true`) | 5.0 | – | – | 118 | 412 | – | – | – | – |",
    ]);
  });
});
