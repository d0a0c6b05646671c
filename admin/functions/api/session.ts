// /api/session: who is signed in (GET), the local sign-in (POST {email, password}) and sign-out
// (DELETE). Behind Cloudflare Access there is no local sign-in: Access signs staff in and out.
import { json, error, sectionsOf } from "../lib/site";
import { clearSessionCookie, sessionCookie, signIn, usesAccess, type Env, type Staff } from "../lib/staff";

interface Context {
  request: Request;
  env: Env;
  data: { staff?: Staff };
}

/** Where signing out goes: Access's own logout behind Access, else this app's sign-out. */
function me(staff: Staff, env: Env): Response {
  const signOut = usesAccess(env) ? "/cdn-cgi/access/logout" : null;
  return json({ email: staff.email, role: staff.role, scopes: staff.scopes, sections: sectionsOf(staff), sign_out: signOut });
}

export async function onRequestGet({ data, env }: Context): Promise<Response> {
  return me(data.staff!, env);
}

/** A wrong account and a wrong password answer alike: the page cannot tell which it was. */
export async function onRequestPost({ request, env }: Context): Promise<Response> {
  if (usesAccess(env)) return error(404, "not_found", "sign in through Cloudflare Access");
  let body: unknown;
  try {
    body = await request.json();
  } catch {
    return error(400, "invalid_json", "the body is not JSON");
  }
  const { email, password } = (body ?? {}) as Record<string, unknown>;
  for (const [field, value, max] of [["email", email, 254], ["password", password, 256]] as const) {
    if (typeof value !== "string" || !value || value.length > max) {
      return json({ error: { code: "validation_failed", message: `give the ${field} (at most ${max} characters)`, details: { field } } }, 422);
    }
  }
  const staff = signIn(env, email as string, password as string);
  if (!staff) return error(401, "unauthorized", "this email and password do not match a staff account");
  const response = me(staff, env);
  response.headers.append("Set-Cookie", await sessionCookie(request, env, staff));
  return response;
}

export async function onRequestDelete({ request }: Context): Promise<Response> {
  return new Response(null, { status: 204, headers: { "Set-Cookie": clearSessionCookie(request) } });
}
