import assert from "node:assert/strict";
import postgres from "postgres";
import { startTcpProxy } from "./tcp_proxy.ts";
import { testServices } from "./services.ts";

Deno.test("the proxy forwards to PostgreSQL, refuses while down and forwards again after", async () => {
  const { databaseUrl } = await testServices();
  const real = new URL(databaseUrl);
  await using proxy = startTcpProxy({ hostname: real.hostname, port: Number(real.port || 5432) });
  const viaProxy = new URL(databaseUrl);
  viaProxy.port = String(proxy.port);
  const sql = postgres(viaProxy.toString(), { max: 1, connect_timeout: 2, onnotice: () => {} });
  try {
    assert.deepEqual([...await sql`select 1 as one`], [{ one: 1 }]);
    assert.equal(proxy.openConnections(), 1);
    proxy.refuse();
    await assert.rejects(() => sql`select 2`);
    proxy.accept();
    assert.deepEqual([...await sql`select 3 as three`], [{ three: 3 }]);
  } finally {
    await sql.end({ timeout: 1 });
  }
});
