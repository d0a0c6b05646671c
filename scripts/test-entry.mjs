// The entry module of the *test* build of each Worker: the e2e harness loads it (with
// `faults: true`) instead of entry.mjs; deployments never do (wrangler bundles from entry.mjs,
// which does not import this file). It adds one seam: a request carrying
// `X-Test-D1-Fault: N` sees its Nth D1 round trip fail (`N+`: that one and every later one, as
// when D1 goes away mid-request and stays away). A round trip is a batch or a statement's
// first/all/run/raw, counted the way the Worker's Server-Timing counts them. The failure is a
// thrown error, as the D1 binding throws when the database cannot be reached; nothing of a
// failed round trip is applied.
import Entry from "./entry.mjs";

class FaultPlan {
  constructor(spec) {
    const m = /^(\d+)(\+?)$/.exec(spec.trim());
    if (!m) throw new Error(`bad X-Test-D1-Fault: ${spec}`);
    this.at = Number(m[1]);
    this.onward = m[2] === "+";
    this.trips = 0;
  }
  trip() {
    this.trips += 1;
    if (this.trips === this.at || (this.onward && this.trips > this.at)) {
      throw new Error(`D1_ERROR: Network connection lost. (injected fault at round trip ${this.trips})`);
    }
  }
}

const real = new WeakMap();

class D1PreparedStatement {
  constructor(statement, plan) {
    this.statement = statement;
    this.plan = plan;
    real.set(this, statement);
  }
  bind(...values) {
    return new D1PreparedStatement(this.statement.bind(...values), this.plan);
  }
  async first(column) {
    this.plan.trip();
    return this.statement.first(column);
  }
  async all() {
    this.plan.trip();
    return this.statement.all();
  }
  async run() {
    this.plan.trip();
    return this.statement.run();
  }
  async raw(options) {
    this.plan.trip();
    return this.statement.raw(options);
  }
}

// Named as the runtime's class: workers-rs checks the binding's constructor name.
class D1Database {
  constructor(db, plan) {
    this.db = db;
    this.plan = plan;
  }
  prepare(sql) {
    return new D1PreparedStatement(this.db.prepare(sql), this.plan);
  }
  async batch(statements) {
    this.plan.trip();
    return this.db.batch(statements.map((s) => real.get(s) ?? s));
  }
  async exec(sql) {
    this.plan.trip();
    return this.db.exec(sql);
  }
}

export default class extends Entry {
  async fetch(request) {
    const spec = request.headers.get("X-Test-D1-Fault");
    if (spec && this.env.COMPTOIR_TEST_HOOKS === "1") {
      const env = { ...this.env, DB: new D1Database(this.env.DB, new FaultPlan(spec)) };
      Object.defineProperty(this, "env", { value: env, configurable: true, writable: true });
    }
    return super.fetch(request);
  }
}
