// Runs in front of every Function under /api: refuses a state-changing request from another
// origin (403) or without a JSON body (415) before any handler reads it, and gives every answer
// its security headers (see guard in ../lib/bff).
import { guard } from "../lib/bff";

export const onRequest = guard;
