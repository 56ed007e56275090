-- The teams a task was created for (its creator's teams then): they may read it, with its creator and admins.
ALTER TABLE tasks ADD COLUMN teams TEXT NOT NULL DEFAULT '[]';
UPDATE tasks SET teams = COALESCE((SELECT users.teams FROM users WHERE 'user:default/' || users.name = tasks.created_by), '[]');
