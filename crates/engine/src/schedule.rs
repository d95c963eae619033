//! When scheduled workflows are due: a workflow's [`Schedule`] (an interval or a cron
//! expression, evaluated in UTC) becomes a [`Timetable`], and a [`Scheduler`] keeps, for each
//! scheduled workflow, its next run and whether a run is in flight.
//!
//! The scheduler is pure: the daemon asks it which workflows are [`due`](Scheduler::due) at an
//! instant and tells it when a run has [`finished`](Scheduler::finished). Rules:
//! - an interval workflow is due as soon as the daemon starts, then one interval after each run
//!   started (a run longer than its interval is followed at once by the next, never overlapped);
//! - a cron workflow is due at each occurrence after the daemon started; occurrences missed while
//!   a run was in flight collapse into one run;
//! - a workflow is never due while one of its runs is in flight;
//! - a failed run is retried at the next tick (`retry` after it ended), and after repeated
//!   failures the wait doubles (up to an hour, never later than the regular schedule) so a target
//!   that keeps refusing is not hammered every tick.
//!
//! Several daemons may share one library, each with its own scheduler: each [`Due`] says since
//! when a start anywhere counts for it ([`occurrence::take`](crate::occurrence::take) asks the
//! library), and the daemon tells its scheduler when the occurrence [ran
//! elsewhere](Scheduler::ran_elsewhere) (the next one is timed from that start, so the daemons
//! keep one timetable) or is [running elsewhere](Scheduler::running_elsewhere) (asked again
//! next tick, for the same occurrence).

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};

use config::{After, Feed, Schedule, Workflow};

/// Something the daemon runs on a schedule: a workflow or a feed.
pub trait Scheduled {
    fn name(&self) -> &str;
    fn schedule(&self) -> Option<&Schedule>;
    /// Whether it also runs on request ([`Scheduler::request`]) without a schedule.
    fn on_request(&self) -> bool {
        false
    }
}

impl Scheduled for Workflow {
    fn name(&self) -> &str {
        &self.name
    }

    fn schedule(&self) -> Option<&Schedule> {
        self.schedule.as_ref()
    }

    fn on_request(&self) -> bool {
        self.after != After::Nothing
    }
}

impl Scheduled for Feed {
    fn name(&self) -> &str {
        &self.name
    }

    fn schedule(&self) -> Option<&Schedule> {
        self.schedule.as_ref()
    }
}

/// The longest wait before retrying a workflow whose runs keep failing.
const MAX_RETRY_WAIT: TimeDelta = TimeDelta::hours(1);

/// Why a schedule cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("workflow `{workflow}`: bad cron expression `{expression}`: {reason}")]
    Cron {
        workflow: String,
        expression: String,
        reason: String,
    },
    #[error("workflow `{workflow}`: the interval is too long")]
    Interval { workflow: String },
}

/// A schedule ready to answer "when next?".
#[derive(Debug, Clone)]
pub enum Timetable {
    Every(TimeDelta),
    Cron(Box<croner::Cron>),
}

impl Timetable {
    /// Parses `schedule` (checked once already by the config loader) for `workflow`.
    pub fn new(workflow: &str, schedule: &Schedule) -> Result<Timetable, ScheduleError> {
        match schedule {
            Schedule::Every(every) => {
                TimeDelta::from_std(*every)
                    .map(Timetable::Every)
                    .map_err(|_| ScheduleError::Interval {
                        workflow: workflow.to_owned(),
                    })
            }
            Schedule::Cron(expression) => expression
                .parse::<croner::Cron>()
                .map(|cron| Timetable::Cron(Box::new(cron)))
                .map_err(|error| ScheduleError::Cron {
                    workflow: workflow.to_owned(),
                    expression: expression.clone(),
                    reason: error.to_string(),
                }),
        }
    }

    /// The first time strictly after `after` this timetable fires; `None` when it never does
    /// (a cron date that does not exist, an interval past the end of time).
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Timetable::Every(every) => after.checked_add_signed(*every),
            Timetable::Cron(cron) => cron.find_next_occurrence(&after, false).ok(),
        }
    }
}

/// One scheduled workflow's state.
#[derive(Debug, Clone)]
pub struct Slot {
    /// The schedule as configured (a reload keeps the slot while this is unchanged); `None`
    /// for a workflow that runs only when a feed it follows changed the library.
    pub schedule: Option<Schedule>,
    pub timetable: Option<Timetable>,
    /// When the workflow is next due (`None`: never again).
    pub next: Option<DateTime<Utc>>,
    /// When the run in flight was started, if one is.
    pub running_since: Option<DateTime<Utc>>,
    /// Failed runs in a row.
    pub failures: u32,
    /// Since when a start counts for the next due, when the timetable does not say it: the end
    /// of a failed run (its retry), a request, an occurrence another process held.
    pub since: Option<DateTime<Utc>>,
}

impl Slot {
    /// A workflow's slot as of `now`: an interval is due at once, a cron at its next time.
    fn new(
        workflow: &str,
        schedule: Option<&Schedule>,
        now: DateTime<Utc>,
    ) -> Result<Slot, ScheduleError> {
        let timetable = schedule
            .map(|schedule| Timetable::new(workflow, schedule))
            .transpose()?;
        let next = match &timetable {
            Some(Timetable::Every(_)) => Some(now),
            Some(timetable) => timetable.next_after(now),
            None => None,
        };
        Ok(Slot {
            schedule: schedule.cloned(),
            timetable,
            next,
            running_since: None,
            failures: 0,
            since: None,
        })
    }

    /// Since when a start counts for the occurrence due at `now`: as set, else one interval
    /// ago (a start anywhere since then did the interval's work), else the due time itself
    /// (a cron time, a millisecond earlier so that a start at that very instant counts).
    fn since(&mut self, now: DateTime<Utc>) -> DateTime<Utc> {
        let derived = match (&self.timetable, self.next) {
            (Some(Timetable::Every(every)), _) => now.checked_sub_signed(*every),
            (_, Some(next)) => next.checked_sub_signed(TimeDelta::milliseconds(1)),
            (_, None) => None,
        };
        self.since
            .take()
            .or(derived)
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }
}

/// A workflow (or feed) due now, and since when a start anywhere counts for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub name: String,
    pub since: DateTime<Utc>,
}

/// Which scheduled workflows are due, and which are running.
#[derive(Debug, Clone)]
pub struct Scheduler {
    slots: BTreeMap<String, Slot>,
    retry: TimeDelta,
}

impl Scheduler {
    /// A scheduler for every workflow that has a schedule, as of `now`. `retry` is how soon a
    /// failed run is tried again (the daemon's tick).
    pub fn new<'a, T: Scheduled + 'a>(
        items: impl IntoIterator<Item = &'a T>,
        now: DateTime<Utc>,
        retry: std::time::Duration,
    ) -> Result<Scheduler, ScheduleError> {
        let mut slots = BTreeMap::new();
        for item in items {
            if item.schedule().is_some() || item.on_request() {
                slots.insert(
                    item.name().to_owned(),
                    Slot::new(item.name(), item.schedule(), now)?,
                );
            }
        }
        let retry = TimeDelta::from_std(retry).unwrap_or(MAX_RETRY_WAIT);
        Ok(Scheduler { slots, retry })
    }

    /// The scheduler for a reloaded configuration: a workflow whose schedule is unchanged keeps
    /// its next time and failure count, a new or rescheduled one starts as [`new`](Self::new)
    /// would, one no longer scheduled is dropped. A run in flight stays marked running, so a
    /// reload never starts a second run of a workflow.
    pub fn reconfigure<'a, T: Scheduled + 'a>(
        &self,
        items: impl IntoIterator<Item = &'a T>,
        now: DateTime<Utc>,
    ) -> Result<Scheduler, ScheduleError> {
        let mut slots = BTreeMap::new();
        for item in items {
            let schedule = item.schedule();
            if schedule.is_none() && !item.on_request() {
                continue;
            }
            let old = self.slots.get(item.name());
            let slot = match old {
                Some(old) if old.schedule.as_ref() == schedule => old.clone(),
                _ => Slot {
                    running_since: old.and_then(|old| old.running_since),
                    ..Slot::new(item.name(), schedule, now)?
                },
            };
            slots.insert(item.name().to_owned(), slot);
        }
        Ok(Scheduler {
            slots,
            retry: self.retry,
        })
    }

    /// The workflows due at `now`, in name order, each marked running until
    /// [`finished`](Self::finished) (or told it ran or runs elsewhere).
    pub fn due(&mut self, now: DateTime<Utc>) -> Vec<Due> {
        let mut due = Vec::new();
        for (name, slot) in &mut self.slots {
            let is_due = slot.running_since.is_none() && slot.next.is_some_and(|next| next <= now);
            if is_due {
                let since = slot.since(now);
                slot.running_since = Some(now);
                slot.next = slot.timetable.as_ref().and_then(|t| t.next_after(now));
                due.push(Due {
                    name: name.clone(),
                    since,
                });
            }
        }
        due
    }

    /// Records that another process started `name`'s due occurrence at `at`: nothing runs
    /// here, and the next occurrence is timed from that start. Returns whether it was due here.
    pub fn ran_elsewhere(&mut self, name: &str, at: DateTime<Utc>) -> bool {
        let Some(slot) = self.slots.get_mut(name) else {
            return false;
        };
        if slot.running_since.take().is_none() {
            return false;
        }
        if let Some(timetable) = &slot.timetable {
            slot.next = timetable.next_after(at);
        }
        true
    }

    /// Records that another process holds `name` (or the library could not be asked) as of
    /// `now`: the same occurrence, begun at `since`, is asked for again a `retry` later.
    /// Returns whether it was due here.
    pub fn running_elsewhere(
        &mut self,
        name: &str,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> bool {
        let Some(slot) = self.slots.get_mut(name) else {
            return false;
        };
        if slot.running_since.take().is_none() {
            return false;
        }
        slot.since = Some(since);
        let again = now.checked_add_signed(self.retry);
        slot.next = match (slot.next, again) {
            (Some(next), Some(again)) => Some(next.min(again)),
            (next, again) => next.or(again),
        };
        true
    }

    /// Records that the run of `workflow` ended at `now`; returns whether it was running.
    pub fn finished(&mut self, workflow: &str, succeeded: bool, now: DateTime<Utc>) -> bool {
        let Some(slot) = self.slots.get_mut(workflow) else {
            return false;
        };
        if slot.running_since.take().is_none() {
            return false;
        }
        if succeeded {
            slot.failures = 0;
        } else {
            slot.failures = slot.failures.saturating_add(1);
            // The retry is this failure's: a start anywhere after it counts.
            slot.since = Some(now);
            let retry_at = now.checked_add_signed(retry_wait(self.retry, slot.failures));
            slot.next = match (slot.next, retry_at) {
                (Some(next), Some(retry_at)) => Some(next.min(retry_at)),
                (next, retry_at) => next.or(retry_at),
            };
        }
        true
    }

    /// Makes `name` due at `now` (a feed it follows changed the library); a run in flight is
    /// followed by another as soon as it ends. Returns whether `name` has a slot.
    pub fn request(&mut self, name: &str, now: DateTime<Utc>) -> bool {
        let Some(slot) = self.slots.get_mut(name) else {
            return false;
        };
        slot.next = Some(slot.next.map_or(now, |next| next.min(now)));
        // Only a start after the change that asked for this run has seen it.
        slot.since = Some(now);
        true
    }

    /// The state of one scheduled workflow.
    pub fn slot(&self, workflow: &str) -> Option<&Slot> {
        self.slots.get(workflow)
    }

    /// Every scheduled workflow's state, by name.
    pub fn slots(&self) -> impl Iterator<Item = (&str, &Slot)> {
        self.slots.iter().map(|(name, slot)| (name.as_str(), slot))
    }
}

/// `retry`, doubled for each failure after the first, capped at an hour.
fn retry_wait(retry: TimeDelta, failures: u32) -> TimeDelta {
    let doublings = failures.saturating_sub(1).min(20);
    retry
        .checked_mul(1 << doublings)
        .map_or(MAX_RETRY_WAIT, |wait| wait.min(MAX_RETRY_WAIT))
        .max(retry)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::TimeZone;
    use proptest::prelude::*;

    use super::*;

    use config::Config;

    fn due_names(due: Vec<Due>) -> Vec<String> {
        due.into_iter().map(|due| due.name).collect()
    }

    fn config(schedules: &[(&str, &str)]) -> Config {
        let mut text = String::from(
            "[library]\npath = \"l.db\"\n[[targets]]\nname = \"v1\"\nproduct = \"vision-one\"\nbase_url = \"http://127.0.0.1:9\"\napi_key = \"env:NOPE\"\n[[collections]]\nname = \"all\"\n",
        );
        for (name, schedule) in schedules {
            text.push_str(&format!(
                "[[workflows]]\nname = \"{name}\"\ncollection = \"all\"\ntarget = \"v1\"\naction = \"blocklist\"\nschedule = \"{schedule}\"\n"
            ));
        }
        Config::from_toml(&text).unwrap()
    }

    fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, h, m, s).unwrap()
    }

    const TICK: Duration = Duration::from_secs(1);

    #[test]
    fn a_workflow_that_follows_feeds_runs_when_asked_and_never_overlaps() {
        let text = format!(
            "{}[[feeds]]\nname = \"feodo\"\nurl = \"feodo.csv\"\n[[workflows]]\nname = \"f\"\ncollection = \"all\"\ntarget = \"v1\"\naction = \"blocklist\"\nafter = [\"feodo\"]\n",
            "[library]\npath = \"l.db\"\n[[targets]]\nname = \"v1\"\nproduct = \"vision-one\"\nbase_url = \"http://127.0.0.1:9\"\napi_key = \"env:NOPE\"\n[[collections]]\nname = \"all\"\n"
        );
        let config = Config::from_toml(&text).unwrap();
        let mut scheduler = Scheduler::new(&config.workflows, at(12, 0, 0), TICK).unwrap();
        assert!(
            scheduler.due(at(12, 0, 0)).is_empty(),
            "no schedule: not due at start"
        );
        assert!(scheduler.request("f", at(12, 1, 0)));
        assert!(!scheduler.request("unknown", at(12, 1, 0)));
        assert_eq!(due_names(scheduler.due(at(12, 1, 0))), ["f"]);
        assert!(
            scheduler.request("f", at(12, 1, 5)),
            "a pull lands during the run"
        );
        assert!(
            scheduler.due(at(12, 1, 6)).is_empty(),
            "never two runs at once"
        );
        scheduler.finished("f", true, at(12, 1, 7));
        assert_eq!(
            due_names(scheduler.due(at(12, 1, 8))),
            ["f"],
            "the later pull gets its run"
        );
        scheduler.finished("f", true, at(12, 1, 9));
        assert!(scheduler.due(at(13, 0, 0)).is_empty());
        let feeds = Scheduler::new(&config.feeds, at(12, 0, 0), TICK).unwrap();
        assert_eq!(
            feeds.slots().count(),
            0,
            "a feed without a schedule is pulled by hand"
        );
    }

    #[test]
    fn an_interval_workflow_runs_at_start_then_each_interval_after_it_started() {
        let config = config(&[("a", "10m")]);
        let mut scheduler = Scheduler::new(&config.workflows, at(12, 0, 0), TICK).unwrap();
        assert_eq!(due_names(scheduler.due(at(12, 0, 0))), ["a"]);
        assert!(scheduler.finished("a", true, at(12, 3, 0)));
        assert!(scheduler.due(at(12, 9, 59)).is_empty());
        assert_eq!(due_names(scheduler.due(at(12, 10, 0))), ["a"]);
    }

    #[test]
    fn a_workflow_is_never_due_while_it_runs() {
        let config = config(&[("a", "1m")]);
        let mut scheduler = Scheduler::new(&config.workflows, at(12, 0, 0), TICK).unwrap();
        assert_eq!(due_names(scheduler.due(at(12, 0, 0))), ["a"]);
        assert!(scheduler.due(at(12, 5, 0)).is_empty(), "still running");
        scheduler.finished("a", true, at(12, 5, 0));
        // The overdue run starts at once, and the missed ones collapse into it.
        assert_eq!(due_names(scheduler.due(at(12, 5, 1))), ["a"]);
        assert!(scheduler.due(at(12, 5, 2)).is_empty());
    }

    #[test]
    fn a_cron_workflow_waits_for_its_next_occurrence() {
        let config = config(&[("c", "0 */6 * * *")]);
        let mut scheduler = Scheduler::new(&config.workflows, at(7, 30, 0), TICK).unwrap();
        assert_eq!(scheduler.slot("c").unwrap().next, Some(at(12, 0, 0)));
        assert!(scheduler.due(at(11, 59, 59)).is_empty());
        assert_eq!(due_names(scheduler.due(at(12, 0, 0))), ["c"]);
        scheduler.finished("c", true, at(12, 0, 30));
        assert_eq!(scheduler.slot("c").unwrap().next, Some(at(18, 0, 0)));
    }

    #[test]
    fn a_failed_run_is_retried_on_the_next_tick_then_backs_off() {
        let config = config(&[("c", "0 0 * * *")]);
        let mut scheduler = Scheduler::new(&config.workflows, at(23, 0, 0), TICK).unwrap();
        let midnight = Utc.with_ymd_and_hms(2026, 11, 24, 0, 0, 0).unwrap();
        assert_eq!(due_names(scheduler.due(midnight)), ["c"]);
        scheduler.finished("c", false, midnight);
        let one = midnight + TimeDelta::seconds(1);
        assert_eq!(
            due_names(scheduler.due(one)),
            ["c"],
            "retried on the next tick"
        );
        scheduler.finished("c", false, one);
        assert!(scheduler.due(one + TimeDelta::seconds(1)).is_empty());
        assert_eq!(due_names(scheduler.due(one + TimeDelta::seconds(2))), ["c"]);
        scheduler.finished("c", true, one + TimeDelta::seconds(2));
        assert_eq!(scheduler.slot("c").unwrap().failures, 0);
        assert_eq!(
            scheduler.slot("c").unwrap().next,
            Some(midnight + TimeDelta::days(1))
        );
    }

    #[test]
    fn retries_never_wait_longer_than_an_hour() {
        let tick = TimeDelta::seconds(1);
        assert_eq!(retry_wait(tick, 1), tick);
        assert_eq!(retry_wait(tick, 4), TimeDelta::seconds(8));
        assert_eq!(retry_wait(tick, u32::MAX), MAX_RETRY_WAIT);
    }

    #[test]
    fn unscheduled_workflows_and_unknown_names_are_ignored() {
        let mut config = config(&[("a", "1h")]);
        config.workflows[0].schedule = None;
        let mut scheduler = Scheduler::new(&config.workflows, at(0, 0, 0), TICK).unwrap();
        assert!(scheduler.due(at(1, 0, 0)).is_empty());
        assert!(!scheduler.finished("a", true, at(1, 0, 0)));
        assert!(!scheduler.finished("nope", true, at(1, 0, 0)));
    }

    #[test]
    fn a_reload_keeps_unchanged_schedules_and_runs_in_flight() {
        let start = at(9, 0, 0);
        let before = config(&[("a", "1h"), ("b", "1h"), ("c", "1h"), ("gone", "1h")]);
        let mut scheduler = Scheduler::new(&before.workflows, start, TICK).unwrap();
        assert_eq!(due_names(scheduler.due(start)), ["a", "b", "c", "gone"]);
        scheduler.finished("a", true, start);
        scheduler.finished("b", false, start);
        let later = start + TimeDelta::minutes(10);
        let after = config(&[("a", "1h"), ("b", "1h"), ("c", "5m"), ("new", "1h")]);
        let mut reloaded = scheduler.reconfigure(&after.workflows, later).unwrap();
        let names: Vec<&str> = reloaded.slots().map(|(name, _)| name).collect();
        assert_eq!(names, ["a", "b", "c", "new"]);
        assert_eq!(
            reloaded.slot("a").unwrap().next,
            Some(start + TimeDelta::hours(1))
        );
        assert_eq!(reloaded.slot("b").unwrap().failures, 1);
        // `c` was rescheduled while running: it stays running, due again only after it ends.
        assert!(reloaded.slot("c").unwrap().running_since.is_some());
        // `b` keeps its retry (due a tick after its failure), `new` starts at once.
        assert_eq!(due_names(reloaded.due(later)), ["b", "new"]);
        assert!(reloaded.finished("c", true, later));
        assert!(due_names(reloaded.due(later)).contains(&"c".to_owned()));
        assert!(
            !reloaded.finished("gone", true, later),
            "a dropped workflow is forgotten"
        );
    }

    #[test]
    fn each_due_says_since_when_a_start_elsewhere_counts() {
        let config = config(&[("a", "10m"), ("c", "0 */6 * * *")]);
        let mut scheduler = Scheduler::new(&config.workflows, at(5, 0, 0), TICK).unwrap();
        let due = scheduler.due(at(6, 0, 0));
        let since = |name: &str| due.iter().find(|d| d.name == name).unwrap().since;
        // An interval: a start in the last interval did its work.
        assert_eq!(since("a"), at(5, 50, 0));
        // A cron time: a start at or after it.
        assert_eq!(since("c"), at(6, 0, 0) - TimeDelta::milliseconds(1));
        // A retry: a start after the failure.
        scheduler.finished("a", false, at(6, 0, 5));
        let retry = scheduler.due(at(6, 0, 6));
        assert_eq!(retry[0].since, at(6, 0, 5));
        // A request: a start after it.
        scheduler.finished("a", true, at(6, 0, 7));
        scheduler.request("a", at(6, 1, 0));
        assert_eq!(scheduler.due(at(6, 1, 0))[0].since, at(6, 1, 0));
    }

    #[test]
    fn an_occurrence_run_elsewhere_times_the_next_from_that_start() {
        let config = config(&[("a", "10m"), ("c", "0 */6 * * *")]);
        let mut scheduler = Scheduler::new(&config.workflows, at(5, 0, 0), TICK).unwrap();
        assert_eq!(due_names(scheduler.due(at(6, 0, 0))), ["a", "c"]);
        assert!(scheduler.ran_elsewhere("a", at(5, 58, 0)));
        assert!(scheduler.ran_elsewhere("c", at(6, 0, 0)));
        assert!(!scheduler.ran_elsewhere("a", at(5, 58, 0)), "no longer due");
        assert_eq!(scheduler.slot("a").unwrap().next, Some(at(6, 8, 0)));
        assert_eq!(scheduler.slot("c").unwrap().next, Some(at(12, 0, 0)));
        assert_eq!(scheduler.slot("a").unwrap().failures, 0);
    }

    #[test]
    fn an_occurrence_held_elsewhere_is_asked_for_again_next_tick() {
        let config = config(&[("c", "0 */6 * * *")]);
        let mut scheduler = Scheduler::new(&config.workflows, at(5, 0, 0), TICK).unwrap();
        let first = scheduler.due(at(6, 0, 0)).remove(0);
        assert!(scheduler.running_elsewhere("c", first.since, at(6, 0, 0)));
        assert!(scheduler.due(at(6, 0, 0)).is_empty());
        // The same occurrence: a start since the 06:00 time still counts for it.
        let again = scheduler.due(at(6, 0, 1)).remove(0);
        assert_eq!(again.since, first.since);
        assert_eq!(scheduler.slot("c").unwrap().next, Some(at(12, 0, 0)));
    }

    #[test]
    fn a_bad_cron_expression_names_the_workflow() {
        let schedule = Schedule::Cron("61 * * * *".into());
        let error = Timetable::new("w", &schedule).unwrap_err().to_string();
        assert!(error.contains("workflow `w`"), "{error}");
    }

    /// One step of a simulated daemon: time passes, then the scheduler is asked what is due,
    /// and runs in flight may end (succeeding or failing).
    #[derive(Debug, Clone)]
    struct Step {
        advance_ms: u32,
        ends: Vec<(usize, bool)>,
    }

    fn steps() -> impl Strategy<Value = Vec<Step>> {
        let step = (
            0u32..120_000,
            prop::collection::vec((0usize..3, any::<bool>()), 0..3),
        )
            .prop_map(|(advance_ms, ends)| Step { advance_ms, ends });
        prop::collection::vec(step, 1..200)
    }

    proptest! {
        /// Whatever the timing: no workflow is claimed twice without finishing, an interval
        /// workflow that succeeded is not claimed again before its interval has passed since
        /// the previous claim, a failed one is due again within its retry wait, and a workflow
        /// that is due and idle is claimed.
        #[test]
        fn never_overlaps_never_early_never_forgotten(
            intervals in prop::collection::vec(1u64..300, 3),
            steps in steps(),
        ) {
            let names = ["w0", "w1", "w2"];
            let schedules: Vec<(&str, String)> = names
                .iter()
                .zip(&intervals)
                .map(|(name, secs)| (*name, format!("{secs}s")))
                .collect();
            let refs: Vec<(&str, &str)> = schedules.iter().map(|(n, s)| (*n, s.as_str())).collect();
            let config = config(&refs);
            let mut now = at(0, 0, 0);
            let mut scheduler = Scheduler::new(&config.workflows, now, TICK).unwrap();
            let mut running = [false; 3];
            let mut last_claim: [Option<DateTime<Utc>>; 3] = [None; 3];
            let mut last_failed = [false; 3];
            for step in steps {
                now += TimeDelta::milliseconds(i64::from(step.advance_ms));
                for (i, succeeded) in step.ends {
                    if running[i] {
                        prop_assert!(scheduler.finished(names[i], succeeded, now));
                        running[i] = false;
                        last_failed[i] = !succeeded;
                        let slot = scheduler.slot(names[i]).unwrap();
                        let retry_by = now + retry_wait(TimeDelta::seconds(1), slot.failures);
                        prop_assert!(succeeded || slot.next.is_some_and(|next| next <= retry_by));
                    }
                }
                let idle_and_due: Vec<bool> = (0..3)
                    .map(|i| !running[i] && scheduler.slot(names[i]).unwrap().next.is_some_and(|n| n <= now))
                    .collect();
                let due = due_names(scheduler.due(now));
                for i in 0..3 {
                    let claimed = due.iter().any(|d| d == names[i]);
                    prop_assert_eq!(claimed, idle_and_due[i]);
                    if claimed {
                        prop_assert!(!running[i], "claimed while running");
                        if let (Some(previous), false) = (last_claim[i], last_failed[i]) {
                            let interval = TimeDelta::seconds(intervals[i] as i64);
                            prop_assert!(now - previous >= interval, "claimed early");
                        }
                        running[i] = true;
                        last_claim[i] = Some(now);
                    }
                }
            }
        }
    }
}
