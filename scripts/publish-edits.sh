#!/usr/bin/env bash
# Publish this server's web-editor changes to the articles repository, and bring in the
# changes published elsewhere (other servers, writers' own commits).
#
#   scripts/publish-edits.sh [ARTICLES_DIR]     (default: $KB_ARTICLES_DIR, else ./articles)
#
# ARTICLES_DIR must be (inside) a git checkout with an upstream branch. In it, this script
# commits every change under ARTICLES_DIR (never the editor's temporary *.tmp files), rebases
# that commit onto the upstream branch (`git pull --rebase`) and pushes it. With nothing to
# publish it is a plain fast-forward pull. Run it every minute on every app server, followed
# by `flask kb sync`, which indexes what changed (README "Running at scale"):
#
#   * * * * * cd /srv/kb && flock -n /tmp/kb-sync.lock sh -c 'scripts/publish-edits.sh /srv/kb-articles; .venv/bin/flask --app wsgi kb sync' >> /var/log/kb-sync.log 2>&1
#
# Exit status 0: everything is published and up to date. 1: git needs a person, e.g. the same
# article was changed here and upstream (the rebase is undone, the local commit kept, and
# the writer's text is also in the article's revision history in the back office), or the
# remote cannot be reached; the next run tries again.
set -euo pipefail

articles_dir="${1:-${KB_ARTICLES_DIR:-articles}}"
cd "$articles_dir"
if [ "$(git rev-parse --is-inside-work-tree 2>/dev/null)" != "true" ]; then
    echo "publish-edits: $articles_dir is not inside a git checkout" >&2
    exit 1
fi
if ! git rev-parse --abbrev-ref --symbolic-full-name '@{upstream}' >/dev/null 2>&1; then
    echo "publish-edits: the checkout in $articles_dir has no upstream branch to pull from" >&2
    exit 1
fi

branch="$(git symbolic-ref --short HEAD)"
remote="$(git config "branch.$branch.remote")"
remote_branch="$(git config "branch.$branch.merge")"

# A server without a configured git identity still gets readable commits.
identity=()
if ! git config user.email >/dev/null; then
    identity=(-c "user.name=kb web editor" -c "user.email=kb-editor@$(hostname)")
fi

git add --all -- . ':!*.tmp'
if ! git diff --cached --quiet; then
    changes="$(git diff --cached --name-status --relative)"
    git ${identity[@]+"${identity[@]}"} commit --quiet \
        -m "Web editor changes on $(hostname)" -m "$changes"
    echo "publish-edits: committed"
    echo "$changes"
fi

# Bounded: another server may push between our pull and our push.
for attempt in 1 2 3; do
    if ! git ${identity[@]+"${identity[@]}"} pull --quiet --rebase; then
        if [ -d "$(git rev-parse --git-path rebase-merge)" ] \
            || [ -d "$(git rev-parse --git-path rebase-apply)" ]; then
            conflicts="$(git diff --name-only --diff-filter=U --relative || true)"
            git rebase --abort
            echo "publish-edits: changed here and upstream, resolve by hand in $PWD:" >&2
            echo "${conflicts:-(see git status)}" >&2
        fi
        exit 1
    fi
    if [ "$(git rev-list --count '@{upstream}..HEAD')" -eq 0 ]; then
        echo "publish-edits: up to date with $(git rev-parse --abbrev-ref '@{upstream}')"
        exit 0
    fi
    if git push --quiet "$remote" "HEAD:$remote_branch"; then
        echo "publish-edits: pushed to $(git rev-parse --abbrev-ref '@{upstream}')"
        exit 0
    fi
    echo "publish-edits: push attempt $attempt was rejected, pulling again" >&2
done
exit 1
