// `npm run dev`: setup if needed, build, migrate and seed the local database, then serve the
// storefront on 127.0.0.1:8787, the back-office on 127.0.0.1:8788 and the demo storefront (Pages
// static files + Functions) on 127.0.0.1:8789 and the admin app (admin/, Pages + Functions) on
// 127.0.0.1:8790 from one workerd process (shared D1, KV and queue), with the cron firing every
// minute, until Ctrl-C.
// `npm run dev -- --reset` starts from an empty, freshly seeded database.
import fs from "node:fs";
import path from "node:path";
import { root, step } from "./lib/proc.mjs";
import { build } from "./build.mjs";

const reset = process.argv.includes("--reset");
const ports = {
  storefront: Number(process.env.STOREFRONT_PORT ?? 8787),
  backoffice: Number(process.env.BACKOFFICE_PORT ?? 8788),
  demo: Number(process.env.DEMO_PORT ?? 8789),
  admin: Number(process.env.ADMIN_PORT ?? 8790),
};
const state = path.join(root, ".wrangler", "state", "v3");

await build();
const { startWorkers, migrate, runSqlFile, readVarsFile } = await import("./lib/workers.mjs");
const { seedDemoOrders } = await import("./lib/demo-orders.mjs");
if (reset) {
  step("--reset: removing local state");
  fs.rmSync(state, { recursive: true, force: true });
}
const { mf, urls } = await startWorkers({ secretsFile: path.join(root, ".dev.vars"), ports, persistTo: state, demo: true, admin: true });
const db = await mf.getD1Database("DB", "backoffice");
const applied = await migrate(db);
step(applied.length ? `applied migrations: ${applied.join(", ")}` : "migrations: up to date");
await runSqlFile(db, "schema/seed/demo.sql");
step("demo data seeded (channel `web`, publishable key pk_demo_web)");
const made = await seedDemoOrders(urls, readVarsFile(path.join(root, ".dev.vars")).ADMIN_JWT_SECRET);
if (made) step(`${made} demo orders placed, one in each state, for the admin app`);

const cron = setInterval(async () => {
  try {
    const worker = await mf.getWorker("backoffice");
    await worker.scheduled({ cron: "* * * * *", scheduledTime: new Date() });
  } catch (e) {
    console.error(`cron failed: ${e.message}`);
  }
}, 60_000);

console.log(`
  storefront   ${urls.storefront}   (try: curl -H 'X-Publishable-Key: pk_demo_web' '${urls.storefront}/v1/products?market=FR')
  back-office  ${urls.backoffice}
  demo store   ${urls.demo.replace("127.0.0.1", "localhost")}   (a Pages storefront using the API; open it in a browser)
  admin app    ${urls.admin.replace("127.0.0.1", "localhost")}   (staff screens; owner@example.com, ops@, support@ or catalog@, password ADMIN_APP_DEV_PASSWORD of .dev.vars)
  state        ${path.relative(root, state)}   (reset with: npm run dev -- --reset)
  Ctrl-C to stop.
`);

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  clearInterval(cron);
  await mf.dispose();
  process.exit(0);
}
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
