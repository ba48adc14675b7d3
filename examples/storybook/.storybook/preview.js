import { pawmockLoader } from '../src/pawmock.js';

/** @type { import('@storybook/html-vite').Preview } */
export default {
  // Every story with `parameters.pawmock` gets `context.loaded.pawmock = { url, run }`.
  loaders: [pawmockLoader],
  parameters: { layout: 'centered' },
};
