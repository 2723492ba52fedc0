// Reports a double-click on one Plotly chart (the one whose Streamlit key is `data.chart`) to the
// server as the trigger `doubleclick`. Loaded by doubleclick.py, which says why it is needed.
// Renders nothing. Streamlit draws the chart after this runs and remounts it under a new key when
// the figure changes, so the chart is looked up on every run until it is there.

const LOOK_EVERY_MS = 100;
const LOOK_FOR_MS = 30000;

// The class Streamlit gives an element with a key: st-key-<key>, other characters as '-'.
const keyClass = (key) => `st-key-${key.trim().replace(/[^a-zA-Z0-9_-]/g, '-')}`;

function chartFor(chartKey) {
  const holder = document.querySelector(`.${CSS.escape(keyClass(chartKey))}`);
  const graph = holder && holder.querySelector('.js-plotly-plot');
  return graph && typeof graph.on === 'function' ? graph : null;   // `on`: Plotly has drawn it
}

export default function ({ data, setTriggerValue }) {
  const chartKey = data.chart;
  const started = Date.now();
  const hook = () => {
    const graph = chartFor(chartKey);
    if (!graph) {
      if (Date.now() - started < LOOK_FOR_MS) setTimeout(hook, LOOK_EVERY_MS);
      return;
    }
    graph.__latentSendDoubleClick = setTriggerValue;        // the latest run's sender
    if (graph.__latentDoubleClickHooked) return;            // one listener per drawn chart
    graph.__latentDoubleClickHooked = true;
    let count = 0;
    graph.on('plotly_doubleclick', () => {
      count += 1;
      graph.__latentSendDoubleClick('doubleclick', count);
    });
  };
  hook();
}
