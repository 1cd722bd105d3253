import { describe, expect, it } from "vitest";
import { consoleSince } from "./debian";

const boot = "[   15.813735] netdev-vm-config[178]: netdev-vm-config: dvm1: host key SHA256:x\n\nDebian GNU/Linux 12 dvm1 ttyS0\n\ndvm1 login: ";

describe("consoleSince (the reboot stall watch)", () => {
  it("sees a guest waiting for its reset when the restart line is the last thing it printed", () => {
    const before = boot;
    const text = `${before}[  122.987915] reboot: Restarting system\n`;
    expect(consoleSince(text, before.length)).toEqual({ fresh: "[  122.987915] reboot: Restarting system\n", restarting: true });
    expect(consoleSince(`${text}\r\n  \n`, before.length).restarting).toBe(true);
  });

  it("does not once the next boot has printed, or when nothing was printed since the reboot request", () => {
    const before = `${boot}[  122.987915] reboot: Restarting system\n`;
    expect(consoleSince(before, before.length).restarting).toBe(false); // an earlier reboot's line
    expect(consoleSince(`${before}${boot}`, 0).restarting).toBe(false);
    expect(consoleSince(`${before}[    0.000000] Linux version 6.1.0\n`, before.length).restarting).toBe(false);
  });
});
