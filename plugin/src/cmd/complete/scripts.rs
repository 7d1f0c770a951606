//! The scripts `completion bash|zsh|fish` prints. Each asks the binary itself
//! (`kubectl-vmimage __complete WORDS…`) and reads the same Cobra-style answer kubectl
//! reads from `kubectl_complete-vmimage`, so the standalone binary and the kubectl
//! plugin complete alike. Under kubectl, kubectl's own completion script does this work.

use crate::cli::Shell;

pub fn script(shell: Shell) -> &'static str {
    match shell {
        Shell::Bash => BASH,
        Shell::Zsh => ZSH,
        Shell::Fish => FISH,
    }
}

/// Bash. The words are re-read from COMP_LINE so `--flag=value` stays one word whether or
/// not the bash-completion package is loaded. `kubectl vmimage` is registered too, but only
/// when kubectl's own completion is not loaded (it completes plugins itself).
const BASH: &str = r#"# bash completion for kubectl-vmimage: source <(kubectl vmimage completion bash)
# `kubectl vmimage <TAB>` is completed by kubectl's completion (source <(kubectl completion bash))
# through kubectl_complete-vmimage on PATH; this script completes kubectl-vmimage itself, and
# `kubectl vmimage` when kubectl's completion is not loaded.
__kubectl_vmimage_complete() {
    local line=${COMP_LINE:0:COMP_POINT} prog=kubectl-vmimage out directive cur c f
    local -a words=() lines=() cands=()
    read -r -a words <<<"$line"
    [[ $line == *[[:space:]] ]] && words+=("")
    if [[ ${words[0]##*/} == kubectl ]]; then
        if ((${#words[@]} == 2)); then
            mapfile -t COMPREPLY < <(compgen -W vmimage -- "${words[1]}")
            return 0
        fi
        [[ ${words[1]} == vmimage ]] || return 0
        words=("${words[@]:2}")
    else
        prog=${words[0]}
        words=("${words[@]:1}")
    fi
    cur=${words[${#words[@]}-1]}
    out=$("$prog" __complete "${words[@]}" 2>/dev/null) || return 0
    directive=${out##*:}
    mapfile -t lines <<<"${out%:*}"
    ((directive & 1)) && return 0
    ((directive & 2)) && compopt -o nospace 2>/dev/null
    ((directive & 4)) && compopt +o default 2>/dev/null
    [[ $cur == -*=* ]] && cur=${cur#*=}
    if ((directive & 8)); then
        compopt -o filenames 2>/dev/null
        while IFS= read -r f; do
            if [[ -d $f ]]; then cands+=("$f"); continue; fi
            for c in "${lines[@]}"; do
                [[ -n $c && $f == *."$c" ]] && cands+=("$f") && break
            done
        done < <(compgen -f -- "$cur")
    elif ((directive & 16)); then
        compopt -o filenames 2>/dev/null
        mapfile -t cands < <(compgen -d -- "$cur")
    else
        for c in "${lines[@]}"; do
            c=${c%%$'\t'*}
            [[ -n $c && $c == "$cur"* ]] && cands+=("$c")
        done
    fi
    # bash replaces only what follows the last colon of the word (COMP_WORDBREAKS).
    if [[ $cur == *:* && $COMP_WORDBREAKS == *:* ]]; then
        local colon=${cur%"${cur##*:}"}
        for c in "${!cands[@]}"; do cands[c]=${cands[c]#"$colon"}; done
    fi
    COMPREPLY=("${cands[@]}")
}
complete -o default -F __kubectl_vmimage_complete kubectl-vmimage
complete -p kubectl >/dev/null 2>&1 || complete -o default -F __kubectl_vmimage_complete kubectl
"#;

/// Zsh: usable with `source <(…)` and as an autoloaded `_kubectl-vmimage` in fpath.
const ZSH: &str = r#"#compdef kubectl-vmimage
# zsh completion for kubectl-vmimage: source <(kubectl vmimage completion zsh)
# `kubectl vmimage <TAB>` is completed by kubectl's completion (source <(kubectl completion zsh))
# through kubectl_complete-vmimage on PATH.
_kubectl-vmimage() {
    local out directive l name help
    local -a args lines cands opts
    args=("${(@)words[2,CURRENT]}")
    out=$("${words[1]}" __complete "${args[@]}" 2>/dev/null) || return 1
    directive=${out##*:}
    lines=("${(@f)${out%:*}}")
    (( directive & 1 )) && return 1
    if (( directive & 8 )); then
        _files -g "*.(${(j:|:)lines})"
        return
    elif (( directive & 16 )); then
        _files -/
        return
    fi
    [[ ${words[CURRENT]} == -*=* ]] && compset -P '*='
    for l in "${lines[@]}"; do
        [[ -z $l ]] && continue
        name=${l%%$'\t'*}
        help=""
        [[ $l == *$'\t'* ]] && help=${l#*$'\t'}
        cands+=("${name//:/\\:}${help:+:$help}")
    done
    (( directive & 2 )) && opts+=(-S '')
    (( directive & 32 )) && opts+=(-V order)
    if (( ${#cands} )); then
        _describe -t vmimage 'kubectl vmimage' cands "${opts[@]}"
    elif (( ! (directive & 4) )); then
        _files
    fi
}
if [[ $funcstack[1] == _kubectl-vmimage ]]; then
    _kubectl-vmimage "$@"
else
    compdef _kubectl-vmimage kubectl-vmimage
fi
"#;

/// Fish: candidates carry their descriptions after a tab, as fish expects.
const FISH: &str = r#"# fish completion for kubectl-vmimage: kubectl vmimage completion fish | source
# `kubectl vmimage <TAB>` is completed by kubectl's completion (kubectl completion fish | source)
# through kubectl_complete-vmimage on PATH.
function __kubectl_vmimage_complete
    set -l typed (commandline -opc)
    set -l token (commandline -ct)
    set -l out ($typed[1] __complete $typed[2..-1] $token 2>/dev/null); or return
    set -l directive (string replace ':' '' -- $out[-1])
    set -e out[-1]
    test (math "bitand($directive, 1)") -eq 0; or return
    if test (math "bitand($directive, 8)") -ne 0
        for f in (__fish_complete_path $token | string replace -r '\t.*' '')
            string match -q -r -- '/$' $f; and echo $f; and continue
            for e in $out
                string match -q -- "*.$e" $f; and echo $f
            end
        end
        return
    end
    if test (math "bitand($directive, 16)") -ne 0
        __fish_complete_directories $token
        return
    end
    set -l prefix (string match -r -- '^-[^=]*=' $token)
    for c in $out
        echo "$prefix$c"
    end
    if test (count $out) -eq 0; and test (math "bitand($directive, 4)") -eq 0
        __fish_complete_path $token
    end
end
complete -c kubectl-vmimage -f -a '(__kubectl_vmimage_complete)'
"#;
