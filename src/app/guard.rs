//! The production guard (API.md Hardening rules): with `ENVIRONMENT=production`, a secret that
//! is the example value of `.dev.vars.example` (anyone can read it in the repository) or is
//! shorter than 32 bytes, a required secret that is missing, or a missing rate-limiting
//! binding, is a problem; a Worker with problems answers `GET /health` with 503
//! `misconfigured` naming each variable (never its value) and every other route with 503
//! `unavailable`, so it never serves with a secret an attacker knows.

use crate::app::idempotency::digest;

/// Secrets shorter than this many bytes are refused in production.
pub const MIN_SECRET_BYTES: usize = 32;

/// A secret's name and the SHA-256 (hex) of its value in `.dev.vars.example`: the values
/// themselves stay out of the bundles. A test checks the tables against the file.
pub type Example = (&'static str, &'static str);

/// The back office's secrets (apart, so the storefront bundle does not even name them).
/// `STRIPE_SECRET_KEY` is the back office's too: refunds of Stripe orders are sent from there,
/// and a draft order's PaymentIntent; so is `ORDER_TOKEN_SECRET` (the storefront's value),
/// for the order token a completed draft answers.
#[cfg(feature = "backoffice")]
pub const BACKOFFICE_SECRETS: &[Example] = &[
    (
        "ADMIN_JWT_SECRET",
        "f15e91ccbcfd28b69bdb45d01d29dd37ad97e0c4f74ebdea940d90d7088b36cd",
    ),
    (
        "STRIPE_SECRET_KEY",
        "e885a3988d006a09a97444015c92a2aafc1490484edd06248268532d8908c995",
    ),
    (
        "ORDER_TOKEN_SECRET",
        "e49a969ae406dd135ad43da759174199261d7e1534dc246cb88eb1d9070a6295",
    ),
];

/// The storefront's secrets.
#[cfg(feature = "storefront")]
pub const STOREFRONT_SECRETS: &[Example] = &[
    (
        "CUSTOMER_JWT_SECRET",
        "5b22407dc4bf8bea554b886116809e8f37deb29e6d99c624104076bb93875c2d",
    ),
    (
        "STRIPE_WEBHOOK_SECRET",
        "4a6d8e1ef81dc955d779adb62880d05e94166a0d92741f444e39d0d0ec4b50b7",
    ),
    (
        "STRIPE_SECRET_KEY",
        "e885a3988d006a09a97444015c92a2aafc1490484edd06248268532d8908c995",
    ),
    (
        "ORDER_TOKEN_SECRET",
        "e49a969ae406dd135ad43da759174199261d7e1534dc246cb88eb1d9070a6295",
    ),
];

/// What one Worker needs to serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needs {
    /// Its secrets that must not be the example value nor short, when set.
    pub checked: &'static [Example],
    /// Secrets that must be set: each entry is satisfied by any one of its names (a shared
    /// secret, or the public keys that replace it).
    pub secrets: &'static [&'static [&'static str]],
    /// Rate-limiting bindings that must be bound.
    pub rate_limiters: &'static [&'static str],
}

/// The problems of a deployment, each naming its variable or binding (never a value); none
/// outside production. `var` reads a variable or secret (`None` when unset or empty);
/// `bound` says whether a binding exists.
pub fn problems(
    var: impl Fn(&str) -> Option<String>,
    bound: impl Fn(&str) -> bool,
    needs: Needs,
) -> Vec<String> {
    if var("ENVIRONMENT").as_deref() != Some("production") {
        return Vec::new();
    }
    let mut problems = Vec::new();
    for (name, example) in needs.checked {
        let Some(value) = var(name) else { continue };
        if digest(value.as_bytes()) == *example {
            problems.push(format!(
                "{name}: is the example value from .dev.vars.example, public in the repository; \
                 set your own (wrangler secret put {name})"
            ));
        } else if value.len() < MIN_SECRET_BYTES {
            problems.push(format!(
                "{name}: is {} bytes; use at least {MIN_SECRET_BYTES} random bytes",
                value.len()
            ));
        }
    }
    for any_of in needs.secrets {
        if !any_of.iter().any(|name| var(name).is_some()) {
            problems.push(format!("{}: is not set", any_of.join(" or ")));
        }
    }
    for binding in needs.rate_limiters {
        if !bound(binding) {
            problems.push(format!(
                "{binding}: the rate-limiting binding is missing (see wrangler.toml)"
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const NEEDS: Needs = Needs {
        checked: &[BACKOFFICE_SECRETS[0], STOREFRONT_SECRETS[3]],
        secrets: &[&["ADMIN_JWT_SECRET", "ADMIN_JWT_PUBLIC_KEYS"]],
        rate_limiters: &["CART_RATE_LIMITER"],
    };

    /// The Workers' secrets of .dev.vars.example (the `ADMIN_APP_*` lines are the admin app's
    /// local sign-in, which never runs in production: admin/functions/lib/staff.ts).
    fn example_file() -> HashMap<String, String> {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/.dev.vars.example"))
                .expect(".dev.vars.example is committed");
        text.lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .filter(|l| !l.trim_start().starts_with("ADMIN_APP_"))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect()
    }

    fn run(vars: &[(&str, &str)], bound: bool) -> Vec<String> {
        let vars: HashMap<&str, &str> = vars.iter().copied().collect();
        problems(
            |name| vars.get(name).map(|v| v.to_string()),
            |_| bound,
            NEEDS,
        )
    }

    #[test]
    fn the_tables_hold_every_secret_of_the_example_file() {
        let file = example_file();
        let mut all: Vec<&Example> = BACKOFFICE_SECRETS
            .iter()
            .chain(STOREFRONT_SECRETS)
            .collect();
        all.sort();
        all.dedup();
        assert_eq!(file.len(), all.len());
        for (name, digest) in all {
            assert_eq!(&super::digest(file[*name].as_bytes()), digest, "{name}");
        }
    }

    #[test]
    fn outside_production_nothing_is_a_problem() {
        let file = example_file();
        let vars: Vec<(&str, &str)> = file.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert!(run(&vars, false).is_empty());
        let mut dev = vars.clone();
        dev.push(("ENVIRONMENT", "development"));
        assert!(run(&dev, false).is_empty());
    }

    #[test]
    fn in_production_example_short_and_missing_secrets_and_missing_limiters_are_named() {
        let file = example_file();
        let problems = run(
            &[
                ("ENVIRONMENT", "production"),
                ("ADMIN_JWT_SECRET", &file["ADMIN_JWT_SECRET"]),
                ("ORDER_TOKEN_SECRET", "too-short"),
            ],
            false,
        );
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].starts_with("ADMIN_JWT_SECRET: is the example value"));
        assert!(problems[1].starts_with("ORDER_TOKEN_SECRET: is 9 bytes"));
        assert!(problems[2].starts_with("CART_RATE_LIMITER: "));
        for (_, value) in file {
            assert!(
                problems.iter().all(|p| !p.contains(&value)),
                "a value is never shown"
            );
        }
        assert!(!problems.iter().any(|p| p.contains("too-short")));
    }

    #[test]
    fn in_production_a_required_secret_may_be_replaced_by_its_public_keys() {
        let strong = "k".repeat(MIN_SECRET_BYTES);
        assert_eq!(
            run(&[("ENVIRONMENT", "production")], true),
            ["ADMIN_JWT_SECRET or ADMIN_JWT_PUBLIC_KEYS: is not set"]
        );
        assert!(run(
            &[
                ("ENVIRONMENT", "production"),
                ("ADMIN_JWT_PUBLIC_KEYS", "{}")
            ],
            true
        )
        .is_empty());
        assert!(run(
            &[("ENVIRONMENT", "production"), ("ADMIN_JWT_SECRET", &strong)],
            true
        )
        .is_empty());
    }
}
