// The board's todos, kept in creation order, with the subscription's events applied to them.
import type { BoardTodoFragment, TodoEventType } from './gql/graphql';

export type BoardTodo = BoardTodoFragment;

/** Applies one event; an older version of a todo than the one held is ignored (events can race a reload). */
export function applyEvent(todos: BoardTodo[], type: TodoEventType, todo: BoardTodo): BoardTodo[] {
  const index = todos.findIndex((t) => t.id === todo.id);
  if (type === 'DELETED') return index === -1 ? todos : todos.filter((t) => t.id !== todo.id);
  if (index === -1) return sortByCreation([...todos, todo]);
  if (todos[index]!.version > todo.version) return todos;
  return todos.map((t, i) => (i === index ? todo : t));
}

/** A mutation's answer is the newest state of that todo, like an event for it. */
export const upsert = (todos: BoardTodo[], todo: BoardTodo): BoardTodo[] => applyEvent(todos, 'UPDATED', todo);

function sortByCreation(todos: BoardTodo[]): BoardTodo[] {
  return todos.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
}
