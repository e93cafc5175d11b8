//! `[[scheduling_policies]]` (CreateSchedulingPolicy): fair-share policies that job queues
//! name in `schedulingPolicy` (reference §4.4).

use super::tomlerr::Ctx;
use super::wire::{WireFairshare, WirePolicy};
use super::InputError;
use crate::model::{FairsharePolicy, ShareWeight, SimDuration};
use toml::Spanned;

/// Most `shareDistribution` entries (AWS limit).
const MAX_SHARES: usize = 500;
/// Longest share identifier.
pub(crate) const MAX_SHARE_ID_LEN: usize = 255;

/// Builds the scheduling policies, by name, in file order.
pub(crate) fn build_scheduling_policies(
    ctx: &Ctx,
    wires: &[Spanned<WirePolicy>],
) -> Result<Vec<(String, FairsharePolicy)>, InputError> {
    let mut out: Vec<(String, FairsharePolicy)> = Vec::with_capacity(wires.len());
    for (i, w) in wires.iter().enumerate() {
        let p = format!("scheduling_policies[{i}]");
        let sp = w.get_ref();
        let name = ctx.name(&sp.name, &format!("{p}.name"))?;
        if out.iter().any(|(n, _)| *n == name) {
            let msg = format!("scheduling policy `{name}` is defined twice");
            return Err(ctx.err(sp.name.span(), format!("{p}.name"), msg));
        }
        let Some(fs) = &sp.fairshare_policy else {
            let msg = "a scheduling policy needs a `fairsharePolicy` (the only kind flotilla \
                       simulates)";
            return Err(ctx.err(w.span(), format!("{p}.fairsharePolicy"), msg));
        };
        let policy = fairshare(ctx, fs.get_ref(), &format!("{p}.fairsharePolicy"))?;
        out.push((name, policy));
    }
    Ok(out)
}

fn fairshare(ctx: &Ctx, f: &WireFairshare, p: &str) -> Result<FairsharePolicy, InputError> {
    let share_decay = match &f.share_decay_seconds {
        Some(s) => {
            let what = "a whole number of seconds from 0 to 604800";
            let v = ctx.uint(s, &format!("{p}.shareDecaySeconds"), 0, 604_800, what)?;
            SimDuration::from_secs(v.into())
        }
        None => SimDuration::ZERO,
    };
    let compute_reservation = match &f.compute_reservation {
        Some(c) => {
            let what = "a percentage from 0 to 99";
            ctx.uint(c, &format!("{p}.computeReservation"), 0, 99, what)?
        }
        None => 0,
    };
    let mut share_distribution: Vec<ShareWeight> = Vec::new();
    if let Some(list) = &f.share_distribution {
        let field = format!("{p}.shareDistribution");
        if list.get_ref().len() > MAX_SHARES {
            let msg = format!(
                "at most {MAX_SHARES} share identifiers are allowed (AWS limit), got {}",
                list.get_ref().len()
            );
            return Err(ctx.err(list.span(), field, msg));
        }
        for (j, s) in list.get_ref().iter().enumerate() {
            let s = s.get_ref();
            let ef = format!("{field}[{j}]");
            let id = s.share_identifier.get_ref();
            if let Err(msg) = check_share_identifier(id) {
                return Err(ctx.err(
                    s.share_identifier.span(),
                    format!("{ef}.shareIdentifier"),
                    msg,
                ));
            }
            if let Some(other) = share_distribution
                .iter()
                .find(|o| overlap(&o.share_identifier, id))
            {
                let msg = format!(
                    "share identifier `{id}` overlaps `{}`: identifiers and `*` prefixes \
                     must not match each other",
                    other.share_identifier
                );
                return Err(ctx.err(
                    s.share_identifier.span(),
                    format!("{ef}.shareIdentifier"),
                    msg,
                ));
            }
            let weight_factor = match &s.weight_factor {
                Some(w) => {
                    let v = *w.get_ref();
                    if !(v.is_finite() && (0.0001..=999.9999).contains(&v)) {
                        let msg =
                            format!("expected a weight factor from 0.0001 to 999.9999, got {v}");
                        return Err(ctx.err(w.span(), format!("{ef}.weightFactor"), msg));
                    }
                    v
                }
                None => 1.0,
            };
            share_distribution.push(ShareWeight {
                share_identifier: id.clone(),
                weight_factor,
            });
        }
    }
    Ok(FairsharePolicy {
        share_decay,
        compute_reservation,
        share_distribution,
    })
}

/// A share identifier as AWS allows it: 1 to 255 letters and digits, optionally ending in
/// `*` (a prefix).
pub(crate) fn check_share_identifier(id: &str) -> Result<(), String> {
    let body = id.strip_suffix('*').unwrap_or(id);
    if !body.is_empty()
        && id.len() <= MAX_SHARE_ID_LEN
        && body.chars().all(|c| c.is_ascii_alphanumeric())
    {
        Ok(())
    } else {
        Err(format!(
            "expected a share identifier of 1 to {MAX_SHARE_ID_LEN} letters and digits, \
             optionally ending in `*`, got `{id}`"
        ))
    }
}

/// Whether two `shareDistribution` identifiers can match one share: equal, or one is a
/// `*` prefix of the other.
fn overlap(a: &str, b: &str) -> bool {
    let covers = |p: &str, x: &str| {
        p.strip_suffix('*')
            .is_some_and(|pre| x.strip_suffix('*').unwrap_or(x).starts_with(pre))
    };
    a == b || covers(a, b) || covers(b, a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_identifiers() {
        assert!(overlap("a", "a"));
        assert!(overlap("UserA*", "UserA1"));
        assert!(overlap("UserA1", "UserA*"));
        assert!(overlap("User*", "UserA*"));
        assert!(!overlap("UserA", "UserB"));
        assert!(!overlap("UserA*", "UserB1"));
        assert!(
            !overlap("UserA", "UserA1"),
            "plain identifiers are not prefixes"
        );
    }

    #[test]
    fn identifier_syntax() {
        assert!(check_share_identifier("team1").is_ok());
        assert!(check_share_identifier("team*").is_ok());
        assert!(check_share_identifier("*").is_err());
        assert!(check_share_identifier("a-b").is_err());
        assert!(check_share_identifier(&"a".repeat(256)).is_err());
    }
}
