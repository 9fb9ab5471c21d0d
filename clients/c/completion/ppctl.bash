# Bash completion for ppctl, the command-line client of Peer Pressure:
# global flags, verbs, each verb's flags, local paths for `put` and `-o`,
# file names from the cluster (`ppctl --json ls`) for get, stat and rm, and
# node ids (`ppctl --json nodes`) for drain and maintenance. The cluster is
# asked with the --tracker/--node/--key-file already on the command line
# (or PP_TRACKER/PP_NODE/PP_KEY_FILE), for at most PPCTL_COMPLETION_TIMEOUT
# seconds (default 2). Needs only bash; installed as
# share/bash-completion/completions/ppctl. Tested by
# tests/integration/test_ppctl_completion.sh.

# Prints the names under key ("name" or "id") of ppctl's JSON on stdin, one a
# line, with \" and \\ decoded (ppctl never escapes anything else in a name).
_ppctl_json_values() {
	local key=$1 line value
	while IFS= read -r line; do
		[[ $line =~ ^[[:space:]]*\"$key\":\ \"(.*)\",?$ ]] || continue
		value=${BASH_REMATCH[1]}
		value=${value//\\\\/$'\x01'}
		value=${value//\\\"/\"}
		printf '%s\n' "${value//$'\x01'/\\}"
	done
}

# Local paths, quoted by readline (-o filenames) when completing for real.
_ppctl_files() {
	compopt -o filenames 2>/dev/null || true
	mapfile -t COMPREPLY < <(compgen -f -- "$1")
}

# Runs ppctl with the connection flags of the command line being completed.
_ppctl_query() {
	local ppctl=${_ppctl_cmd:-ppctl}
	timeout "${PPCTL_COMPLETION_TIMEOUT:-2}" "$ppctl" "${_ppctl_conn[@]}" --json "$@" 2>/dev/null
}

# Sets COMPREPLY to the words of $2 (one a line) that start with $1, quoted
# for the shell, with the part before the last COMP_WORDBREAKS character
# (':' or '=') removed since bash replaces only what follows it.
_ppctl_reply() {
	local cur=$1 words=$2 w trim=
	local tail=${cur##*[:=]}
	if [[ $tail != "$cur" && $COMP_WORDBREAKS == *"${cur:${#cur}-${#tail}-1:1}"* ]]; then
		trim=${cur:0:${#cur}-${#tail}}
	fi
	COMPREPLY=()
	while IFS= read -r w; do
		[[ -n $w && $w == "$cur"* ]] || continue
		w=${w#"$trim"}
		COMPREPLY+=("$(printf '%q' "$w")")
	done <<<"$words"
}

_ppctl() {
	local -a words=() _ppctl_conn=()
	local i w cword=0 cur verb= verb_at=0 prev _ppctl_cmd=${COMP_WORDS[0]}
	# Rejoin what COMP_WORDBREAKS split: "--tracker" "=" "tcp" ":" "//h" ":"
	# "7000" is the one word --tracker=tcp://h:7000 to ppctl.
	for ((i = 0; i <= COMP_CWORD && i < ${#COMP_WORDS[@]}; i++)); do
		w=${COMP_WORDS[i]}
		if ((${#words[@]} > 1)) && [[ $w == [:=] || ${words[-1]} == *[:=] ]]; then
			words[-1]+=$w
		else
			words+=("$w")
		fi
	done
	((COMP_CWORD < ${#COMP_WORDS[@]})) || words+=("")
	cword=$((${#words[@]} - 1))
	cur=${words[cword]}
	prev=${words[cword - 1]:-}

	# Global flags come first; the first other word is the verb.
	for ((i = 1; i < cword; i++)); do
		w=${words[i]}
		case $w in
		--tracker | --node | --key-file)
			_ppctl_conn+=("$w" "${words[i + 1]:-}")
			((i++))
			;;
		--tracker=* | --node=* | --key-file=*) _ppctl_conn+=("$w") ;;
		-*) ;;
		*)
			verb=$w
			verb_at=$i
			break
			;;
		esac
	done

	local globals='--tracker --node --key-file --json --help --version'
	local verbs='put get ls stat rm nodes health ping drain maintenance'
	if [[ -z $verb ]]; then
		case $prev in
		--key-file)
			_ppctl_files "$cur"
			return 0
			;;
		--tracker | --node)
			_ppctl_reply "$cur" "tcp://127.0.0.1:"
			return 0
			;;
		esac
		if [[ $cur == -* ]]; then
			_ppctl_reply "$cur" "${globals// /$'\n'}"
		else
			_ppctl_reply "$cur" "${verbs// /$'\n'}"
		fi
		return 0
	fi

	local flags=
	case $verb in
	put) flags='--name --replication --help' ;;
	get) flags='-o --output --help' ;;
	ls) flags='--limit --help' ;;
	*) flags='--help' ;;
	esac
	case $prev in
	-o | --output | --key-file)
		_ppctl_files "$cur"
		return 0
		;;
	--name | --replication | --limit) return 0 ;;
	esac
	if [[ $cur == -* ]]; then
		_ppctl_reply "$cur" "${flags// /$'\n'}"
		return 0
	fi
	case $verb in
	put)
		_ppctl_files "$cur"
		;;
	get | stat | rm)
		_ppctl_reply "$cur" "$(_ppctl_query ls "$cur" --limit 1000 | _ppctl_json_values name)"
		;;
	drain)
		((cword == verb_at + 1)) &&
			_ppctl_reply "$cur" "$(_ppctl_query nodes | _ppctl_json_values id)"
		;;
	maintenance)
		if ((cword == verb_at + 1)); then
			_ppctl_reply "$cur" "$(_ppctl_query nodes | _ppctl_json_values id)"
		elif ((cword == verb_at + 2)); then
			_ppctl_reply "$cur" $'on\noff'
		fi
		;;
	esac
	return 0
}
complete -F _ppctl ppctl
