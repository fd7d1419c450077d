// Wide-character ncurses (Debian: libncurses-dev). NCURSES_WIDECHAR exposes the
// wide-character API the dashboard needs for Unicode blocks and braille.
#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif
#include <locale.h>
#include <wchar.h>
#include <ncursesw/curses.h>

// Macros and globals Swift cannot import directly.
static inline int dartscope_color_pair(int n) { return (int)COLOR_PAIR(n); }
static inline int dartscope_attr_bold(void) { return (int)A_BOLD; }
static inline int dartscope_attr_reverse(void) { return (int)A_REVERSE; }
static inline int dartscope_key_resize(void) { return KEY_RESIZE; }
static inline int dartscope_colors(void) { return COLORS; }
static inline int dartscope_color_pairs(void) { return COLOR_PAIRS; }
static inline int dartscope_lines(void) { return LINES; }
static inline int dartscope_cols(void) { return COLS; }
static inline WINDOW *dartscope_stdscr(void) { return stdscr; }
static inline int dartscope_set_attributes(int attributes) { return attrset(attributes); }
