// /api/session: who is signed in (GET), the local sign-in (POST {email, password}) and sign-out
// (DELETE). Behind Cloudflare Access there is no local sign-in: Access signs staff in and out.
import { json, error, sectionsOf } from "../lib/site";
import { clearSessionCookie, sessionCookie, signIn, usesAccess, type Env, type Staff } from "../lib/staff";

interface Context {
  request: Request;
  env: Env;
  data: { staff?: Staff };
}

function me(staff: Staff): Response {
  return json({ email: staff.email, role: staff.role, scopes: staff.scopes, sections: sectionsOf(staff) });
}

export async function onRequestGet({ data }: Context): Promise<Response> {
  return me(data.staff!);
}

/** A wrong account and a wrong password answer alike: the page cannot tell which it was. */
export async function onRequestPost({ request, env }: Context): Promise<Response> {
  if (usesAccess(env)) return error(404, "not_found", "sign in through Cloudflare Access");
  let body: unknown;
  try {
    body = await request.json();
  } catch {
    return error(400, "malformed_json", "the body is not JSON");
  }
  const { email, password } = (body ?? {}) as Record<string, unknown>;
  if (typeof email !== "string" || typeof password !== "string" || email.length > 254 || password.length > 256) {
    return error(422, "validation_failed", "give an email and a password");
  }
  const staff = signIn(env, email, password);
  if (!staff) return error(401, "unauthorized", "this email and password do not match a staff account");
  const response = me(staff);
  response.headers.append("Set-Cookie", await sessionCookie(request, env, staff));
  return response;
}

export async function onRequestDelete({ request }: Context): Promise<Response> {
  return new Response(null, { status: 204, headers: { "Set-Cookie": clearSessionCookie(request) } });
}
