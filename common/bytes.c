/* bytes.c: byte classes and slice comparison shared by every folder. */
#include "common/bytes.h"
#include "common/slice.h"

#define T(c) [c] = 1
const uint8_t kw_tchar[256] = {
    T('!'), T('#'), T('$'), T('%'), T('&'), T('\''), T('*'), T('+'), T('-'), T('.'),
    T('^'), T('_'), T('`'), T('|'), T('~'),
    T('0'), T('1'), T('2'), T('3'), T('4'), T('5'), T('6'), T('7'), T('8'), T('9'),
    T('A'), T('B'), T('C'), T('D'), T('E'), T('F'), T('G'), T('H'), T('I'), T('J'),
    T('K'), T('L'), T('M'), T('N'), T('O'), T('P'), T('Q'), T('R'), T('S'), T('T'),
    T('U'), T('V'), T('W'), T('X'), T('Y'), T('Z'),
    T('a'), T('b'), T('c'), T('d'), T('e'), T('f'), T('g'), T('h'), T('i'), T('j'),
    T('k'), T('l'), T('m'), T('n'), T('o'), T('p'), T('q'), T('r'), T('s'), T('t'),
    T('u'), T('v'), T('w'), T('x'), T('y'), T('z'),
};
#undef T

bool kw_slice_eq_ci(struct kw_slice s, const char *lower)
{
    size_t i = 0;
    for (; i < s.len; i++)
        if (lower[i] == '\0' || kw_lower(s.p[i]) != (uint8_t)lower[i])
            return false;
    return lower[i] == '\0';
}
