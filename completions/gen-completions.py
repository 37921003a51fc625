#!/usr/bin/env python3
"""Writes bash or zsh completions for leakscan from the options its --help lists.

Generated at build time from the built binary, so that an option added to
--help is completed without anyone remembering to do it.  What an option's
value completes to comes from its metavariable (FILE: files, PID: processes)
or, for a closed set, from a description that lists the values at its start
or after a colon ("text (default), json or sarif ...").

usage: gen-completions.py bash|zsh LEAKSCAN OUTPUT
"""
import re
import subprocess
import sys

OPTION = re.compile(r'^\s+(?:-(?P<short>\w), )?--(?P<long>[a-z][a-z0-9.-]*)(?:=(?P<metavar>\S+))?(?:\s+(?P<desc>.*))?$')
WORD = r'[a-z][a-z0-9-]*(?: \([^)]*\))?'
# the values listed at the start of the description, or after a colon
# ("how stacks are unwound: libdw (default) or fp")
CHOICES = re.compile(r'(?:^|: )(%s)((?:, %s)*),? or (%s)\b' % (WORD, WORD, WORD))


def parse_help(text):
    """[(short or None, long, metavar or None, description)] in --help's order."""
    options = []
    for line in text.splitlines():
        m = OPTION.match(line)
        if m:
            options.append([m['short'], m['long'], m['metavar'], m['desc'] or ''])
        elif options and re.match(r'^\s{20,}\S', line) and not line.strip().startswith('-'):
            options[-1][3] += ' ' + line.strip()     # a description's next line
    return [tuple(o) for o in options]


def value_kind(metavar, desc):
    """('file'|'pid'|'choices'|'free'|None, choices)"""
    if metavar is None:
        return None, []
    if metavar.startswith('FILE') or metavar in ('PATH', 'DIR'):
        return 'file', []
    if metavar == 'PID':
        return 'pid', []
    m = CHOICES.search(desc)
    if m:
        listed = re.sub(r' \([^)]*\)', '', m[0]).lstrip(': ')       # asides in parentheses out
        return 'choices', re.split(r',? or |, ', listed)
    return 'free', []


def bash(options):
    takes_arg = []
    cases = []
    words = []
    for short, long, metavar, desc in options:
        names = (['-' + short] if short else []) + ['--' + long]
        words += ['--' + long + ('=' if metavar else '')] + (['-' + short] if short else [])
        kind, choices = value_kind(metavar, desc)
        if not kind:
            continue
        takes_arg += names
        pattern = '|'.join(names)
        if kind == 'file':
            cases.append('        %s) COMPREPLY=($(compgen -f -- "$cur")); compopt -o filenames ;;' % pattern)
        elif kind == 'pid':
            cases.append('        %s) COMPREPLY=($(compgen -W "$(cd /proc && ls -d [0-9]* 2>/dev/null)" -- "$cur")) ;;' % pattern)
        elif kind == 'choices':
            cases.append('        %s) COMPREPLY=($(compgen -W \'%s\' -- "$cur")) ;;' % (pattern, ' '.join(choices)))
        else:
            cases.append('        %s) ;;' % pattern)
    return '''# bash completion for leakscan
# Generated from leakscan --help by completions/gen-completions.py: do not edit.
_leakscan()
{
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} i
    # the words after PROGRAM (the first word that is no option, or the one
    # after --) belong to PROGRAM: complete them as a command line of its own
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
            --) break ;;
            %(takes_arg)s) ((i++)) ;;
            -*) ;;
            *) break ;;
        esac
    done
    if ((i < COMP_CWORD)); then
        [[ ${COMP_WORDS[i]} == -- ]] && ((i++))
        if ((i == COMP_CWORD)); then
            COMPREPLY=($(compgen -c -- "$cur"))
        else
            COMPREPLY=($(compgen -f -- "$cur"))
        fi
        return
    fi
    # --option=value, as one word or split at '=' by COMP_WORDBREAKS
    if [[ $cur == --*=* ]]; then
        prev=${cur%%%%=*}
        cur=${cur#*=}
    elif [[ $prev == = ]]; then
        prev=${COMP_WORDS[COMP_CWORD-2]}
    elif [[ $cur == = ]]; then
        cur=
    fi
    case $prev in
%(cases)s
        *)
            if [[ $cur == -* ]]; then
                COMPREPLY=($(compgen -W '%(words)s' -- "$cur"))
                [[ ${COMPREPLY[0]-} == *= ]] && compopt -o nospace
            else
                COMPREPLY=($(compgen -c -- "$cur"))
            fi
            ;;
    esac
}
complete -F _leakscan leakscan
''' % {'takes_arg': '|'.join(takes_arg) or '--', 'cases': '\n'.join(cases), 'words': ' '.join(words)}


def zsh_quote(s):
    return s.replace("'", "'\\''").replace('[', '(').replace(']', ')').replace(':', '\\:')


def zsh(options):
    specs = []
    for short, long, metavar, desc in options:
        kind, choices = value_kind(metavar, desc)
        action = {'file': '_files', 'pid': '_pids', 'choices': '(%s)' % ' '.join(choices),
                  'free': ' ', None: None}[kind]
        rest = "'[%s]" % zsh_quote(desc)
        if action:
            rest += ':%s:%s' % (zsh_quote(metavar.lower()), action)
        rest += "'"
        repeat = "'*'" if long.startswith('ignore-') or long == 'suppressions' else ''
        if short:
            names = '{-%s%s,--%s%s}' % (short, '+' if metavar else '', long, '=' if metavar else '')
        else:
            names = "'--%s%s'" % (long, '=' if metavar else '')
        specs.append('  %s%s%s' % (repeat, names, rest))
    return '''#compdef leakscan
# zsh completion for leakscan
# Generated from leakscan --help by completions/gen-completions.py: do not edit.
_arguments -s -S \\
%s \\
  '*::program and its arguments:_normal'
''' % ' \\\n'.join(specs)


def main():
    shell, leakscan, output = sys.argv[1:4]
    text = subprocess.run([leakscan, '--help'], check=True, capture_output=True, text=True,
                          env={'PATH': '/usr/bin:/bin'}).stdout
    options = parse_help(text)
    if not options:
        sys.exit('gen-completions: no options found in %s --help' % leakscan)
    with open(output, 'w') as f:
        f.write(bash(options) if shell == 'bash' else zsh(options))


if __name__ == '__main__':
    main()
