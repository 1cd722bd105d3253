import { describe, expect, it } from "vitest";
import { restartingSince } from "./debian";

const boot = "[   15.813735] netdev-vm-config[178]: netdev-vm-config: dvm1: host key SHA256:x\n\nDebian GNU/Linux 12 dvm1 ttyS0\n\ndvm1 login: ";
const bytes = (text: string) => Buffer.from(text, "utf8");

describe("restartingSince (the reboot stall watch)", () => {
  it("sees a guest waiting for its reset when the restart line is the last thing it printed", () => {
    const before = bytes(boot);
    const text = `${boot}[  122.987915] reboot: Restarting system\n`;
    expect(restartingSince(bytes(text), before.length)).toBe(true);
    expect(restartingSince(bytes(`${text}\r\n  \n`), before.length)).toBe(true);
  });

  it("does not once the next boot has printed, or when nothing was printed since the reboot request", () => {
    const before = `${boot}[  122.987915] reboot: Restarting system\n`;
    expect(restartingSince(bytes(before), bytes(before).length)).toBe(false); // an earlier reboot's line
    expect(restartingSince(bytes(`${before}${boot}`), 0)).toBe(false);
    expect(restartingSince(bytes(`${before}[    0.000000] Linux version 6.1.0\n`), bytes(before).length)).toBe(false);
  });
});
