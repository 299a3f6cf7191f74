//! Posting queues: each account's posting times in its own time zone (say Mon–Fri 09:00 and 17:30,
//! Europe/Berlin). "Add to queue" schedules a post at the next time of each account that no other of its
//! scheduled posts holds. Times are local: across a change of the clocks a 09:00 slot stays at 09:00; a
//! time the clocks skip is taken at the first minute after the gap, and a time they pass twice at its first
//! passing.

use crate::{Caller, Core, CoreError};
use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use iquivity_domain::{AccountId, ValidationError};
use iquivity_store::{QueueOwner, QueueRecord, QueueSlot, TargetState};

/// The days a slot names, as written.
const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// At most this many slots an account; and the next free one is looked for this many days ahead.
const MAX_SLOTS: usize = 50;
const LOOK_AHEAD_DAYS: i64 = 366;

fn owner_name(owner: QueueOwner) -> &'static str {
    match owner {
        QueueOwner::Account(_) => "account",
        QueueOwner::Client(_) => "client",
    }
}

/// What an account's posting times are asked to be.
#[derive(Debug, Clone)]
pub struct QueueSpec {
    pub time_zone: String,
    pub slots: Vec<QueueSlot>,
}

fn parse_time(raw: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(raw.trim(), "%H:%M").ok()
}

fn check_spec(spec: &QueueSpec) -> Result<Tz, CoreError> {
    let mut errors = Vec::new();
    let zone = spec.time_zone.trim().parse::<Tz>();
    if zone.is_err() {
        errors.push(ValidationError::new(
            "time_zone",
            format!(
                "{:?} is not a time zone; use a name such as Europe/Berlin or America/New_York",
                spec.time_zone
            ),
        ));
    }
    if spec.slots.is_empty() || spec.slots.len() > MAX_SLOTS {
        errors.push(ValidationError::new(
            "slots",
            format!("give 1 to {MAX_SLOTS} posting times"),
        ));
    }
    for (i, slot) in spec.slots.iter().enumerate() {
        if parse_time(&slot.time).is_none() {
            errors.push(ValidationError::new(
                format!("slots[{i}].time"),
                "must be a time of day such as 09:00",
            ));
        }
        if slot.days.is_empty() || slot.days.iter().any(|d| !DAYS.contains(&d.as_str())) {
            errors.push(ValidationError::new(
                format!("slots[{i}].days"),
                "must be one or more of mon, tue, wed, thu, fri, sat, sun",
            ));
        }
    }
    match zone {
        Ok(zone) if errors.is_empty() => Ok(zone),
        _ => Err(CoreError::Validation(errors)),
    }
}

/// The instant a local date and time is in `zone`: its first passing where the clocks pass it twice, the
/// first minute after the gap where they skip it.
fn instant(zone: Tz, day: NaiveDate, time: NaiveTime) -> Option<DateTime<Utc>> {
    let local = day.and_time(time);
    match zone.from_local_datetime(&local) {
        LocalResult::Single(at) => Some(at.with_timezone(&Utc)),
        LocalResult::Ambiguous(first, _) => Some(first.with_timezone(&Utc)),
        LocalResult::None => (1..=180).find_map(|minutes| {
            zone.from_local_datetime(&(local + Duration::minutes(minutes)))
                .earliest()
                .map(|at| at.with_timezone(&Utc))
        }),
    }
}

/// The first slot of the queue after `after` that `taken` does not hold.
pub fn next_free_slot(
    queue: &QueueRecord,
    after: DateTime<Utc>,
    taken: &[DateTime<Utc>],
) -> Option<DateTime<Utc>> {
    let zone: Tz = queue.time_zone.parse().ok()?;
    let start = after.with_timezone(&zone).date_naive();
    let mut times: Vec<(NaiveTime, &QueueSlot)> = queue
        .slots
        .iter()
        .filter_map(|s| parse_time(&s.time).map(|t| (t, s)))
        .collect();
    times.sort_by_key(|(t, _)| *t);
    (0..=LOOK_AHEAD_DAYS).find_map(|offset| {
        let day = start + Duration::days(offset);
        let weekday = DAYS[day.weekday().num_days_from_monday() as usize];
        times
            .iter()
            .filter(|(_, slot)| slot.days.iter().any(|d| d == weekday))
            .filter_map(|(time, _)| instant(zone, day, *time))
            .find(|at| *at > after && !taken.contains(at))
    })
}

impl Core {
    /// Sets an account's or a client's posting times, replacing them.
    pub async fn set_queue(
        &self,
        caller: &Caller,
        owner: QueueOwner,
        spec: QueueSpec,
    ) -> Result<QueueRecord, CoreError> {
        caller.require_manage_accounts()?;
        check_spec(&spec)?;
        let queue = QueueRecord {
            owner,
            workspace_id: caller.workspace_id,
            time_zone: spec.time_zone.trim().to_string(),
            slots: spec
                .slots
                .into_iter()
                .map(|s| QueueSlot {
                    days: s.days,
                    time: s.time.trim().to_string(),
                })
                .collect(),
            updated_at: self.clock.now(),
        };
        if !self.store.set_queue(&queue).await? {
            return Err(CoreError::NotFound(owner_name(owner)));
        }
        Ok(queue)
    }

    /// An account's or a client's own posting times.
    pub async fn queue(
        &self,
        caller: &Caller,
        owner: QueueOwner,
    ) -> Result<Option<QueueRecord>, CoreError> {
        match owner {
            QueueOwner::Account(account) => {
                self.account(caller, account).await?;
            }
            QueueOwner::Client(client) => {
                self.store
                    .client(caller.workspace_id, client)
                    .await?
                    .ok_or(CoreError::NotFound("client"))?;
            }
        }
        Ok(self.store.queue(caller.workspace_id, owner).await?)
    }

    /// The posting times an account goes by: its own, else its client's.
    async fn queue_of_account(
        &self,
        caller: &Caller,
        account: AccountId,
    ) -> Result<Option<QueueRecord>, CoreError> {
        let workspace = caller.workspace_id;
        if let Some(own) = self
            .store
            .queue(workspace, QueueOwner::Account(account))
            .await?
        {
            return Ok(Some(own));
        }
        let client = self
            .store
            .account(workspace, account)
            .await?
            .and_then(|a| a.client_id);
        Ok(match client {
            Some(client) => {
                self.store
                    .queue(workspace, QueueOwner::Client(client))
                    .await?
            }
            None => None,
        })
    }

    /// "Add to queue": the post goes to each account at its next free posting time, after every check a
    /// new post gets.
    pub async fn queue_post(
        &self,
        caller: &Caller,
        new: super::NewPost,
    ) -> Result<iquivity_store::PostRecord, CoreError> {
        if new.publish_at.is_some() {
            return Err(CoreError::invalid(
                "publish_at",
                "a queued post goes out at each account's next posting time; leave the time out",
            ));
        }
        let accounts = new.accounts.clone();
        let times = self.queued_times(caller, &accounts).await?;
        let mut errors: Vec<ValidationError> = times
            .iter()
            .filter_map(|t| t.as_ref().err().cloned())
            .collect();
        let checked = self.checked_post(caller, new).await;
        let mut post = match checked {
            Ok(post) if errors.is_empty() => post,
            Ok(_) => return Err(CoreError::Validation(errors)),
            Err(CoreError::Validation(more)) => {
                errors.extend(more);
                return Err(CoreError::Validation(errors));
            }
            Err(other) => return Err(other),
        };
        for target in &mut post.targets {
            if let Some(Ok(at)) = accounts
                .iter()
                .position(|a| *a == target.account_id)
                .and_then(|i| times.get(i))
            {
                target.run_at = *at;
            }
        }
        if let Some(first) = post.targets.iter().map(|t| t.run_at).min() {
            post.publish_at = first;
        }
        self.store.create_post(&post).await?;
        Ok(post)
    }

    /// The next free posting time of each account, in order; an account without posting times, or none
    /// free within a year, is an error of its `accounts[i]`.
    pub(super) async fn queued_times(
        &self,
        caller: &Caller,
        accounts: &[AccountId],
    ) -> Result<Vec<Result<DateTime<Utc>, ValidationError>>, CoreError> {
        let now = self.clock.now();
        let mut times = Vec::with_capacity(accounts.len());
        for (i, account) in accounts.iter().enumerate() {
            let field = format!("accounts[{i}]");
            let Some(queue) = self.queue_of_account(caller, *account).await? else {
                times.push(Err(ValidationError::new(
                    field,
                    "this account has no posting times, nor has its client: set them on its page or its client's first",
                )));
                continue;
            };
            let taken: Vec<DateTime<Utc>> = self
                .store
                .scheduled_for_account(caller.workspace_id, *account)
                .await?
                .into_iter()
                .filter(|(target, _)| target.state == TargetState::Scheduled)
                .map(|(target, _)| target.run_at)
                .collect();
            times.push(next_free_slot(&queue, now, &taken).ok_or_else(|| {
                ValidationError::new(
                    field,
                    "no posting time of this account is free within a year",
                )
            }));
        }
        Ok(times)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(zone: &str, slots: &[(&[&str], &str)]) -> QueueRecord {
        QueueRecord {
            owner: QueueOwner::Account(AccountId::new()),
            workspace_id: iquivity_domain::WorkspaceId::new(),
            time_zone: zone.into(),
            slots: slots
                .iter()
                .map(|(days, time)| QueueSlot {
                    days: days.iter().map(|d| d.to_string()).collect(),
                    time: time.to_string(),
                })
                .collect(),
            updated_at: Utc::now(),
        }
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn the_next_slot_is_local_and_skips_what_is_taken() {
        let weekdays = queue(
            "America/New_York",
            &[(&["mon", "tue", "wed", "thu", "fri"], "09:00")],
        );
        // Friday 2026-03-27 15:00 UTC is 11:00 in New York: the next is Monday 09:00 EDT.
        let friday = at("2026-03-27T15:00:00Z");
        assert_eq!(
            next_free_slot(&weekdays, friday, &[]),
            Some(at("2026-03-30T13:00:00Z"))
        );
        assert_eq!(
            next_free_slot(&weekdays, friday, &[at("2026-03-30T13:00:00Z")]),
            Some(at("2026-03-31T13:00:00Z"))
        );
    }

    #[test]
    fn a_slot_keeps_its_local_time_across_a_change_of_the_clocks() {
        // Berlin moves from UTC+1 to UTC+2 on Sunday 2026-03-29 at 02:00, which becomes 03:00.
        let daily = queue("Europe/Berlin", &[(&["sat", "sun", "mon"], "09:00")]);
        let saturday = at("2026-03-28T07:00:00Z");
        assert_eq!(
            next_free_slot(&daily, saturday, &[]),
            Some(at("2026-03-28T08:00:00Z"))
        );
        let taken = [at("2026-03-28T08:00:00Z")];
        assert_eq!(
            next_free_slot(&daily, saturday, &taken),
            Some(at("2026-03-29T07:00:00Z"))
        );
        // 02:30 does not exist that night: the first minute after the gap, 03:00 local (01:00 UTC).
        let skipped = queue("Europe/Berlin", &[(&["sun"], "02:30")]);
        assert_eq!(
            next_free_slot(&skipped, saturday, &[]),
            Some(at("2026-03-29T01:00:00Z"))
        );
    }
}
