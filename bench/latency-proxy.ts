import net from "node:net";

/**
 * A TCP relay on 127.0.0.1 that delays every chunk by `oneWayMs` in each direction: an SSH
 * server behind it answers as if it were a network round trip of 2 × oneWayMs away. The lab's
 * kernel has no netem, and a relay in userspace delays exactly what a network would (each
 * request and each answer), with the order of bytes kept.
 */
export async function latencyProxy(target: { host: string; port: number }, oneWayMs: number): Promise<{ port: number; close(): void }> {
  const sockets = new Set<net.Socket>();
  const relay = (from: net.Socket, to: net.Socket) => {
    from.on("data", (chunk) => {
      setTimeout(() => {
        if (!to.destroyed) to.write(chunk);
      }, oneWayMs);
    });
    from.on("end", () => setTimeout(() => to.end(), oneWayMs));
    from.on("error", () => to.destroy());
    from.on("close", () => setTimeout(() => to.destroy(), oneWayMs));
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    for (const socket of [client, upstream]) {
      socket.setNoDelay(true);
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
    }
    relay(client, upstream);
    relay(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => {
      server.close();
      for (const socket of sockets) socket.destroy();
    },
  };
}
