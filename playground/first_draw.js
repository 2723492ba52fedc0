// Tells the server that the browser has drawn the first map (the still preview that app.py shows
// while PyTorch loads): the trigger `drawn`. Loaded by first_draw.py, which says why. Renders
// nothing. Fires anyway after GIVE_UP_MS, so a chart that never draws cannot hold the page back.

const LOOK_EVERY_MS = 50;
const GIVE_UP_MS = 8000;

const keyClass = (key) => `st-key-${key.trim().replace(/[^a-zA-Z0-9_-]/g, '-')}`;

function drawn(chartKey) {
  const holder = document.querySelector(`.${CSS.escape(keyClass(chartKey))}`);
  const graph = holder && holder.querySelector('.js-plotly-plot');
  return Boolean(graph && graph.querySelector('.main-svg') && (graph._fullData || []).length);
}

// The chart library's file has arrived (Streamlit fetches it when a page first shows a chart): from
// then on the browser only parses and draws, which a busy server does not slow down.
const libraryFetched = () => performance.getEntriesByType('resource')
  .some((e) => /PlotlyChart[^/]*\.js/.test(e.name) && e.responseEnd > 0);

export default function ({ data, setTriggerValue }) {
  const started = Date.now();
  const look = () => {
    const ok = drawn(data.chart) ? 'drawn' : (libraryFetched() ? 'fetched' : null);
    if (ok || Date.now() - started >= GIVE_UP_MS) {
      setTriggerValue('drawn', ok || 'gave up');
      return;
    }
    setTimeout(look, LOOK_EVERY_MS);
  };
  look();
}
