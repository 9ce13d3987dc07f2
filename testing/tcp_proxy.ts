/**
 * A TCP proxy for fault tests: it forwards a local port to a real server and
 * can refuse new connections and cut the open ones, so a program sees its
 * server "unreachable" and then back, without stopping the shared server.
 */

/** A running fault-injecting proxy. */
export interface TcpProxy extends AsyncDisposable {
  /** The local port clients connect to. */
  readonly port: number;
  /** How many connections are open through the proxy now. */
  openConnections(): number;
  /** Cuts every open connection (the server side sees a reset). */
  cutConnections(): void;
  /** Stops listening (new connections are refused) and cuts the open ones. */
  refuse(): void;
  /** Listens again on the same port. */
  accept(): void;
}

/** Starts a proxy from 127.0.0.1:`port` (0 = any free port) to `target`. */
export function startTcpProxy(
  target: { hostname: string; port: number },
  options: { port?: number } = {},
): TcpProxy {
  const connections = new Set<Deno.Conn>();
  let listener: Deno.Listener | undefined;
  let port = options.port ?? 0;
  let stopped = false;

  const listen = () => {
    listener = Deno.listen({ hostname: "127.0.0.1", port });
    port = (listener.addr as Deno.NetAddr).port;
    void acceptLoop(listener);
  };

  const acceptLoop = async (current: Deno.Listener) => {
    for (;;) {
      let client: Deno.Conn;
      try {
        client = await current.accept();
      } catch {
        return; // listener closed
      }
      void pipeClient(client);
    }
  };

  const pipeClient = async (client: Deno.Conn) => {
    let server: Deno.Conn;
    try {
      server = await Deno.connect(target);
    } catch {
      client.close();
      return;
    }
    connections.add(client);
    connections.add(server);
    const closeBoth = () => {
      for (const conn of [client, server]) {
        if (connections.delete(conn)) {
          try {
            conn.close();
          } catch { /* already closed */ }
        }
      }
    };
    await Promise.allSettled([
      client.readable.pipeTo(server.writable, { preventClose: true }),
      server.readable.pipeTo(client.writable, { preventClose: true }),
    ].map((piping) => piping.finally(closeBoth)));
  };

  const cutConnections = () => {
    for (const conn of [...connections]) {
      connections.delete(conn);
      try {
        conn.close();
      } catch { /* already closed */ }
    }
  };

  listen();
  return {
    get port() {
      return port;
    },
    openConnections: () => connections.size / 2,
    cutConnections,
    refuse() {
      listener?.close();
      listener = undefined;
      cutConnections();
    },
    accept() {
      if (!listener && !stopped) listen();
    },
    async [Symbol.asyncDispose]() {
      stopped = true;
      listener?.close();
      listener = undefined;
      cutConnections();
      // Let the piping promises observe the closed connections.
      await new Promise((resolve) => setTimeout(resolve, 20));
    },
  };
}
