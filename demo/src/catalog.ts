/**
 * The titles the demo's household watches: TMDB ids with the snippet a watchlist add carries
 * (spec 3.2's `content_metadata`), so every device can show a title without a catalog lookup.
 */
import type { ContentSnippet } from "@mg-sync/crdt-core";

export interface Title {
  readonly id: string;
  readonly snippet: ContentSnippet;
  /** Running time in seconds (the progress messages' `duration_seconds`). */
  readonly durationSec: number;
}

function movie(tmdb: number, title: string, year: number, minutes: number): Title {
  return {
    id: `tmdb:${tmdb}`,
    snippet: { title, year, content_type: "Movie" },
    durationSec: minutes * 60,
  };
}

export const FIGHT_CLUB = movie(550, "Fight Club", 1999, 139);
export const THE_MATRIX = movie(603, "The Matrix", 1999, 136);
export const PARASITE = movie(496243, "Parasite", 2019, 132);
export const SE7EN = movie(807, "Se7en", 1995, 127);
export const ARRIVAL = movie(329865, "Arrival", 2016, 116);

/** Everything the scale-up mode draws from. */
export const CATALOG: readonly Title[] = [
  FIGHT_CLUB,
  THE_MATRIX,
  PARASITE,
  SE7EN,
  ARRIVAL,
  movie(680, "Pulp Fiction", 1994, 154),
  movie(238, "The Godfather", 1972, 175),
  movie(155, "The Dark Knight", 2008, 152),
  movie(27205, "Inception", 2010, 148),
  movie(157336, "Interstellar", 2014, 169),
  movie(129, "Spirited Away", 2001, 125),
  movie(78, "Blade Runner", 1982, 117),
  movie(348, "Alien", 1979, 117),
  movie(949, "Heat", 1995, 170),
  movie(194, "Amélie", 2001, 122),
  movie(244786, "Whiplash", 2014, 107),
  movie(76341, "Mad Max: Fury Road", 2015, 120),
  movie(419430, "Get Out", 2017, 104),
  movie(438631, "Dune", 2021, 155),
  movie(152601, "Her", 2013, 126),
  movie(376867, "Moonlight", 2016, 111),
  movie(545611, "Everything Everywhere All at Once", 2022, 139),
];

const BY_ID = new Map(CATALOG.map((title) => [title.id, title]));

/** "Fight Club (1999)" for a known id, else the id itself. */
export function titleName(contentId: string, snippet?: ContentSnippet | null): string {
  const known = snippet ?? BY_ID.get(contentId)?.snippet;
  if (known === undefined || known === null) return contentId;
  return known.year === undefined || known.year === null ? known.title : `${known.title} (${known.year})`;
}

/** "Fight Club" for a known id, else the id. */
export function shortName(contentId: string): string {
  return BY_ID.get(contentId)?.snippet.title ?? contentId;
}
