// Wide-character ncurses (Debian: libncurses-dev). NCURSES_WIDECHAR exposes the
// cchar_t / add_wch family the dashboard needs for Unicode blocks and braille.
#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif
#include <locale.h>
#include <ncursesw/curses.h>
