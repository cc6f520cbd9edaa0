//! The UI state and its updates: keys in, [`Action`]s for the loop out; worker messages in.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::analysis::{AnalysisInit, AnalysisView, HeatmapInit, HeatmapView};
use super::chart::ChartView;
use super::prompt::{Prompt, PromptKind, PromptResult};
use super::save;
use super::search::SearchView;
use super::table::{CountView, Detail, ExtractView};
use super::worker::{Job, Msg, Progress, SearchQuery};
use crate::query::TimeRange;

/// How a search view starts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchInit {
    /// The query (positional filters, no narrower range).
    pub query: SearchQuery,
    /// `-f` (for the `filter` colour mode).
    pub simple: Vec<String>,
    /// `-r` (for the `filter` colour mode).
    pub regex: Option<String>,
    /// `-c` colour modes.
    pub color: String,
    /// `-w`: wrap long lines.
    pub wrap: bool,
    /// `--reverse`: newest first.
    pub reverse: bool,
}

/// How a count view starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountInit {
    /// Column name of the key (`Time`, `Key`, `Word`, `Normalized Pattern`, `-n`).
    pub name: String,
    /// Per time bucket (else per key).
    pub time_mode: bool,
    /// `-e normalize` (coloured placeholders in the detail view).
    pub normalize: bool,
    /// The search a bucket drills down to.
    pub search: SearchInit,
    /// The command's time range.
    pub range: TimeRange,
}

/// How an extract view starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtractInit {
    /// Column name of the value.
    pub name: String,
    /// `--stats`: open the statistics view when the rows are in.
    pub stats: bool,
}

/// The first view of the UI, with the job that fills it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Init {
    /// `search`.
    Search(SearchInit),
    /// `count`.
    Count(CountInit),
    /// `extract`.
    Extract(ExtractInit),
    /// `tfidf`, `anomaly`, `delay`, `time`, `relation`.
    Analysis(AnalysisInit),
    /// `heatmap`.
    Heatmap(HeatmapInit),
}

/// A view on the stack; the top one is shown and receives the rows of the running job.
#[derive(Debug, Clone)]
pub enum View {
    /// Search results.
    Search(Box<SearchView>),
    /// Count table.
    Count(Box<CountView>),
    /// Extract table (and stats).
    Extract(Box<ExtractView>),
    /// An analyzer's table.
    Analysis(Box<AnalysisView>),
    /// The heatmap grid.
    Heatmap(Box<HeatmapView>),
    /// One row in full.
    Detail(Detail),
    /// A chart (`g`).
    Chart(Box<ChartView>),
}

/// What a view asks of the app after a key.
#[derive(Debug)]
pub enum Effect {
    /// Nothing more.
    None,
    /// The key was used (it must not also mean "back").
    Handled,
    /// Open the prompt with this prefilled text.
    Prompt(PromptKind, String),
    /// Run a job for this view.
    Run(Job),
    /// Push a search view for this query (drill-down), with a label for its header.
    Drill(Box<SearchInit>, String),
    /// Push a detail view.
    Detail(Detail),
    /// Push a chart view.
    Chart(Box<ChartView>),
    /// Write this chart as HTML and open it (`h`).
    Html(Box<ChartView>),
    /// Back to the previous view (like `q`).
    Back,
    /// Show a message (`true`: an error).
    Status(String, bool),
}

/// What the loop must do after a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Start this job (cancelling the running one); its rows go to the top view.
    Run(Job),
    /// Cancel the running job; its partial rows stay.
    Cancel,
    /// Quit the UI.
    Quit,
}

/// A message line at the bottom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The text.
    pub text: String,
    /// Shown as an error.
    pub error: bool,
}

/// A message on one line: runs of whitespace (newlines of regex errors) become one space.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The whole UI state.
#[derive(Debug, Clone)]
pub struct App {
    /// View stack (never empty).
    pub views: Vec<View>,
    /// The open prompt.
    pub prompt: Option<Prompt>,
    /// The message line.
    pub status: Option<Status>,
    /// Progress of the running job (set by the loop).
    pub progress: Progress,
    /// The user quit.
    pub quit: bool,
    /// Times in UTC.
    pub utc: bool,
    /// `h` opens the HTML chart with the system's opener (tests turn it off: the path shows).
    pub open_charts: bool,
    /// `--sixel`: the chart view draws a sixel image.
    pub sixel: bool,
    /// Size of a terminal cell in pixels (for sixel images; the terminal tells, else 10×20).
    pub cell_px: (u16, u16),
    pending: Option<Job>,
    /// The view that receives the running job's rows (a detail view may be on top of it).
    job_view: usize,
    size: (u16, u16),
}

impl App {
    /// The app for a command; its first job is pending. Fails on an invalid colour mode.
    pub fn new(init: Init, utc: bool) -> Result<Self, String> {
        let (view, job) = match init {
            Init::Search(s) => {
                let job = Job::Search(s.query.clone());
                (View::Search(Box::new(SearchView::new(&s)?)), job)
            }
            Init::Count(c) => (View::Count(Box::new(CountView::new(&c))), Job::Count),
            Init::Extract(e) => {
                let mut v = ExtractView::new(&e.name);
                v.stats_when_done = e.stats;
                (View::Extract(Box::new(v)), Job::Extract)
            }
            Init::Analysis(a) => (View::Analysis(Box::new(AnalysisView::new(&a))), Job::Analysis),
            Init::Heatmap(h) => (View::Heatmap(Box::new(HeatmapView::new(&h))), Job::Analysis),
        };
        Ok(App {
            views: vec![view],
            prompt: None,
            status: None,
            progress: Progress::default(),
            quit: false,
            utc,
            open_charts: true,
            sixel: false,
            cell_px: (10, 20),
            pending: Some(job),
            job_view: 0,
            size: (80, 24),
        })
    }

    /// The job to start, once.
    pub fn take_job(&mut self) -> Option<Job> {
        self.pending.take()
    }

    /// Records the terminal size (for page movements).
    pub fn set_size(&mut self, w: u16, h: u16) {
        self.size = (w, h);
    }

    /// Rows a page movement skips.
    fn page(&self) -> usize {
        // Header and message line; tables also have their column header.
        let chrome = if matches!(self.top(), View::Search(_)) { 2 } else { 3 };
        usize::from(self.size.1.saturating_sub(chrome)).max(1)
    }

    /// The top view.
    pub fn top(&self) -> &View {
        // The stack is never empty: popping stops at one view.
        &self.views[self.views.len() - 1]
    }

    fn top_mut(&mut self) -> &mut View {
        let n = self.views.len();
        &mut self.views[n - 1]
    }

    /// Results of the first view: hits of a search, rows of a count or extraction.
    pub fn results(&self) -> u64 {
        match &self.views[0] {
            View::Search(v) => v.lines.len() as u64,
            View::Count(v) => v.stats.hits,
            View::Extract(v) => v.rows.len() as u64,
            View::Analysis(v) => v.rows.len() as u64,
            View::Heatmap(v) => v.cells.len() as u64,
            View::Detail(_) | View::Chart(_) => 0,
        }
    }

    /// Applies a worker message to the top view.
    pub fn apply(&mut self, msg: Msg) {
        let mut err = None;
        let i = self.job_view.min(self.views.len() - 1);
        match (&mut self.views[i], msg) {
            (View::Search(v), Msg::Lines(l)) => v.lines.extend(l),
            (View::Extract(v), Msg::Extracted(r)) => v.push(r),
            (View::Count(v), Msg::Counted(rows, st)) => v.set_rows(rows, st),
            (View::Analysis(v), Msg::Rows(r)) => v.push(r),
            (View::Analysis(v), Msg::Extra(e)) => v.extra(*e),
            (View::Heatmap(v), Msg::Extra(e)) => {
                if let super::analysis::Extra::Heatmap(c) = *e {
                    v.set(c);
                }
            }
            (view, Msg::Done { result, cancelled, elapsed }) => {
                let summary = match result {
                    Ok(s) => Some(s),
                    Err(e) => {
                        err = Some(e);
                        None
                    }
                };
                match view {
                    View::Search(v) => {
                        (v.done, v.cancelled, v.took) = (summary, cancelled, elapsed);
                    }
                    View::Count(v) => (v.done, v.cancelled, v.took) = (summary, cancelled, elapsed),
                    View::Extract(v) => {
                        (v.done, v.cancelled, v.took) = (summary, cancelled, elapsed);
                        v.finish();
                        if std::mem::take(&mut v.stats_when_done) {
                            v.stats = crate::analyze::extract::stats_of(&v.rows);
                        }
                    }
                    View::Analysis(v) => {
                        (v.done, v.cancelled, v.took) = (summary, cancelled, elapsed);
                        v.finish();
                    }
                    View::Heatmap(v) => {
                        (v.done, v.cancelled, v.took) = (summary, cancelled, elapsed);
                    }
                    View::Detail(_) | View::Chart(_) => {}
                }
            }
            // Rows for a view of another kind cannot happen (the worker drops stale jobs).
            _ => {}
        }
        if let Some(e) = err {
            self.status = Some(Status { text: format!("error: {}", one_line(&e)), error: true });
        }
    }

    /// Handles a key.
    pub fn handle_key(&mut self, k: KeyEvent) -> Vec<Action> {
        let ctrl_c = k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl_c {
            self.prompt = None;
            return if self.progress.running && !self.progress.cancelling {
                vec![Action::Cancel]
            } else {
                vec![Action::Cancel, Action::Quit]
            };
        }
        if let Some(p) = &mut self.prompt {
            return match p.key(k) {
                PromptResult::Editing => Vec::new(),
                PromptResult::Cancel => {
                    self.prompt = None;
                    Vec::new()
                }
                PromptResult::Submit(text) => {
                    let kind = p.kind;
                    self.prompt = None;
                    self.submit(kind, &text)
                }
            };
        }
        self.status = None;
        let back = matches!(k.code, KeyCode::Char('q') | KeyCode::Esc);
        if back && self.progress.running && self.job_view == self.views.len() - 1 {
            return vec![Action::Cancel];
        }
        let page = self.page();
        let utc = self.utc;
        let effect = match self.top_mut() {
            View::Search(v) => v.key(k, page),
            View::Count(v) => v.key(k, page, utc),
            View::Extract(v) => v.key(k, page, utc),
            View::Analysis(v) => v.key(k, page, utc),
            View::Heatmap(v) => v.key(k, page, utc),
            View::Detail(_) if back || k.code == KeyCode::Enter => Effect::None,
            View::Detail(_) => Effect::Handled,
            View::Chart(v) => v.key(k),
        };
        let detail_back = matches!(self.top(), View::Detail(_)) && matches!(k.code, KeyCode::Enter);
        match effect {
            Effect::None if back || detail_back => self.back(),
            Effect::Back => self.back(),
            Effect::None | Effect::Handled => Vec::new(),
            Effect::Prompt(kind, text) => {
                self.prompt = Some(Prompt::new(kind, &text));
                Vec::new()
            }
            Effect::Run(job) => {
                self.job_view = self.views.len() - 1;
                vec![Action::Run(job)]
            }
            Effect::Drill(init, label) => match SearchView::new(&init) {
                Ok(mut v) => {
                    v.label = Some(label);
                    self.views.push(View::Search(Box::new(v)));
                    self.job_view = self.views.len() - 1;
                    vec![Action::Run(Job::Search(init.query))]
                }
                Err(e) => {
                    self.status = Some(Status { text: e, error: true });
                    Vec::new()
                }
            },
            Effect::Detail(d) => {
                self.views.push(View::Detail(d));
                Vec::new()
            }
            Effect::Chart(c) => {
                self.views.push(View::Chart(c));
                Vec::new()
            }
            Effect::Html(c) => {
                let (text, error) = super::chart::open_html(&c.spec, c.stem, self.open_charts);
                self.status = Some(Status { text, error });
                Vec::new()
            }
            Effect::Status(text, error) => {
                self.status = Some(Status { text, error });
                Vec::new()
            }
        }
    }

    /// `q`/`esc`: back to the previous view, or quit from the first.
    fn back(&mut self) -> Vec<Action> {
        if self.views.len() > 1 {
            self.views.pop();
            Vec::new()
        } else {
            vec![Action::Quit]
        }
    }

    fn submit(&mut self, kind: PromptKind, text: &str) -> Vec<Action> {
        let utc = self.utc;
        let mut status = |r: Result<String, String>| {
            self.status = Some(match r {
                Ok(text) => Status { text, error: false },
                Err(text) => Status { text: one_line(&text), error: true },
            });
        };
        match (kind, self.views.last_mut()) {
            (PromptKind::Save, Some(view)) if !text.trim().is_empty() => {
                status(save::save(view, text.trim(), utc));
            }
            (PromptKind::Color, Some(View::Search(v))) => {
                if let Err(e) = v.set_colors(text) {
                    status(Err(e));
                }
            }
            (PromptKind::Marker, Some(View::Search(v))) => {
                if let Err(e) = v.set_marker(text) {
                    status(Err(e));
                }
            }
            (PromptKind::Filter, Some(View::Search(v))) => {
                let job = v.refilter(text);
                self.job_view = self.views.len() - 1;
                return vec![Action::Run(job)];
            }
            _ => {}
        }
        Vec::new()
    }
}
